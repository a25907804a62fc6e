namespace Berth.Server.Jobs;

/// <summary>Durable job storage. Every state change of a job goes through here.</summary>
public interface IJobStore : IJobLedger
{
    /// <summary>Creates the schema when missing.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Adds a queued job unless <paramref name="queueCap"/> jobs already wait. Returns the stored job, or null when full.</summary>
    Task<Job?> TryEnqueueAsync(Job job, int queueCap, CancellationToken cancellationToken);

    /// <summary>Newest first; <paramref name="afterId"/> is the last id of the previous page; <paramref name="owner"/> null means every owner.</summary>
    Task<IReadOnlyList<Job>> ListAsync(string? owner, JobStatus? status, int limit, string? afterId, CancellationToken cancellationToken);

    /// <summary>Cancels a queued job at once. Returns false when the job is not queued (or unknown).</summary>
    Task<bool> CancelIfQueuedAsync(string id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes a terminal job. Returns false when the job is not terminal.</summary>
    Task<bool> DeleteIfTerminalAsync(string id, CancellationToken cancellationToken);

    Task<int> CountQueuedAsync(CancellationToken cancellationToken);

    /// <summary>Jobs in an active state (linting, building, scanning, running).</summary>
    Task<int> CountActiveAsync(CancellationToken cancellationToken);

    /// <summary>Proves the store can write (readiness).</summary>
    Task CheckWritableAsync(CancellationToken cancellationToken);
}
