using Microsoft.Extensions.Logging;

namespace Berth.Server.Logging;

/// <summary>The lines of <c>berth agent</c>: its API servers, claims, leases and last writes (event ids 300-329).</summary>
internal static partial class Log
{
    [LoggerMessage(300, LogLevel.Information, "Berth agent starting: {Agent}")]
    public static partial void AgentStarting(ILogger logger, string agent);

    [LoggerMessage(301, LogLevel.Warning, "API server {Server} is plain http and not on loopback: the agent token and jobs cross the network unencrypted")]
    public static partial void PlainHttpServer(ILogger logger, string server);

    [LoggerMessage(302, LogLevel.Debug, "API server {Server} did not answer {Request}: {Problem}; trying the next one")]
    public static partial void ServerUnavailable(ILogger logger, string server, string request, string problem);

    [LoggerMessage(303, LogLevel.Warning, "No API server answers a claim ({Servers}): {Problem}; claiming again, less often")]
    public static partial void ApiUnavailable(ILogger logger, string servers, string problem);

    [LoggerMessage(304, LogLevel.Information, "API server {Server} answers claims again")]
    public static partial void ApiReachable(ILogger logger, string server);

    [LoggerMessage(305, LogLevel.Error, "API server {Server} refused a claim: {Problem} (is the agent token, --token or BERTH_AGENT_TOKEN, one the servers list in Agents:Tokens?)")]
    public static partial void ClaimRefused(ILogger logger, string server, string problem);

    [LoggerMessage(306, LogLevel.Information, "Job {JobId} claimed: attempt {Attempt}, lease {Lease}, from {Server}")]
    public static partial void JobClaimed(ILogger logger, string jobId, int attempt, long lease, string server);

    [LoggerMessage(307, LogLevel.Warning, "Job {JobId} not started: {Reason}")]
    public static partial void ClaimDropped(ILogger logger, string jobId, string reason);

    [LoggerMessage(308, LogLevel.Warning, "Job {JobId}: lease lost: {Reason}; its work stops and nothing more is sent for it")]
    public static partial void LeaseLost(ILogger logger, string jobId, string reason);

    [LoggerMessage(309, LogLevel.Warning, "Job {JobId}: heartbeat failed ({Outcome}: {Problem}); the lease holds until {HeldUntil:O}")]
    public static partial void HeartbeatFailing(ILogger logger, string jobId, string outcome, string problem, DateTimeOffset heldUntil);

    [LoggerMessage(310, LogLevel.Information, "Job {JobId}: heartbeats get through again")]
    public static partial void HeartbeatRecovered(ILogger logger, string jobId);

    [LoggerMessage(311, LogLevel.Information, "Job {JobId}: result sent ({Status})")]
    public static partial void ResultSent(ILogger logger, string jobId, string status);

    [LoggerMessage(312, LogLevel.Warning, "Job {JobId}: the {What} could not be sent ({Outcome}: {Problem}); the API re-queues the job when its lease runs out")]
    public static partial void NotSent(ILogger logger, string jobId, string what, string outcome, string problem);

    [LoggerMessage(313, LogLevel.Warning, "Job {JobId}: the API refused the {What}: {Problem}; going on without it")]
    public static partial void WriteRefused(ILogger logger, string jobId, string what, string problem);

    [LoggerMessage(314, LogLevel.Information, "Job {JobId}: the API's {Log} log is full at {Length} bytes; the rest stays unsent")]
    public static partial void LogCapped(ILogger logger, string jobId, string log, long length);

    [LoggerMessage(315, LogLevel.Warning, "Job {JobId}: reading its logs failed; tried again in a second")]
    public static partial void LogShippingFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(317, LogLevel.Warning, "Job {JobId}: no worker runs it any more and its end was not saved; the lease is let go (the API re-queues the job when it runs out)")]
    public static partial void LeaseAbandoned(ILogger logger, string jobId);

    [LoggerMessage(316, LogLevel.Information, "Job {JobId} given back to the API (the agent is stopping): it runs again, this attempt not counted")]
    public static partial void JobReleased(ILogger logger, string jobId);
}
