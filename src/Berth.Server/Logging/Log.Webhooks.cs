using Microsoft.Extensions.Logging;

namespace Berth.Server.Logging;

/// <summary>The lines about job webhooks (event ids 400-409). The callback URL is never logged: it may carry a token.</summary>
internal static partial class Log
{
    [LoggerMessage(400, LogLevel.Information, "Job {JobId} webhook {DeliveryId} delivered on attempt {Attempt} ({Status})")]
    public static partial void WebhookDelivered(ILogger logger, string jobId, string deliveryId, int attempt, int status);

    [LoggerMessage(401, LogLevel.Warning, "Job {JobId} webhook {DeliveryId} attempt {Attempt} failed: {Error}; next attempt in {RetryInSeconds} s")]
    public static partial void WebhookAttemptFailed(ILogger logger, string jobId, string deliveryId, int attempt, string error, double retryInSeconds);

    [LoggerMessage(402, LogLevel.Error, "Job {JobId} webhook {DeliveryId} given up after {Attempt} attempts; last: {Error}")]
    public static partial void WebhookGivenUp(ILogger logger, string jobId, string deliveryId, int attempt, string error);

    [LoggerMessage(403, LogLevel.Warning, "Webhook dispatch failed; it is tried again at the next poll")]
    public static partial void WebhookDispatchFailed(ILogger logger, Exception exception);
}
