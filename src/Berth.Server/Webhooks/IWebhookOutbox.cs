using Berth.Server.Jobs;

namespace Berth.Server.Webhooks;

/// <summary>
/// The durable outbox of job webhooks, kept by the job store beside each job (a restart loses nothing; deleting a job
/// deletes its delivery). Any number of dispatchers may share it: a claim holds a delivery until it expires or its
/// attempt is recorded, and no two dispatchers hold one delivery at once.
/// </summary>
public interface IWebhookOutbox
{
    /// <summary>
    /// Claims up to <paramref name="max"/> pending deliveries of terminal jobs that are due at <paramref name="now"/>
    /// and not claimed, each until <paramref name="now"/> + <paramref name="claimFor"/>; oldest jobs first. A claim
    /// counts the attempt it is for, so an attempt whose server stopped before recording it still counts.
    /// </summary>
    Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(DateTimeOffset now, TimeSpan claimFor, int max, CancellationToken cancellationToken);

    /// <summary>Records an attempt's outcome and releases the claim. False when the delivery is gone (its job deleted) or no longer pending.</summary>
    Task<bool> RecordAsync(string jobId, WebhookOutcome outcome, CancellationToken cancellationToken);
}

/// <summary>A claimed delivery: the job, where to send it, its delivery id and the number of the attempt it is claimed for (1 first).</summary>
public sealed record WebhookDelivery(string JobId, string Url, string DeliveryId, int Attempt);

/// <summary>What an attempt left: the delivery as it now stands and, while it stays pending, when to try again.</summary>
public sealed record WebhookOutcome(JobWebhook Webhook, DateTimeOffset? NextAttemptAt);
