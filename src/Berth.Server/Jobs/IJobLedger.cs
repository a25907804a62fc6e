namespace Berth.Server.Jobs;

/// <summary>
/// What a node that runs jobs needs of the job records: claim the next job, save its progress and result, and look jobs
/// up. <see cref="IJobStore"/> is one (in-process workers of a SQLite Berth); an agent's lease client is another (it
/// talks to the API, never to a database).
/// </summary>
public interface IJobLedger
{
    /// <summary>Atomically moves the oldest queued job to <paramref name="status"/> and counts the attempt.</summary>
    Task<Job?> ClaimNextAsync(JobStatus status, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Saves a claimed job's progress; ignored once the job is terminal.</summary>
    Task SaveAsync(Job job, CancellationToken cancellationToken);

    /// <summary>Jobs in an active state (linting, building, scanning, running), oldest first.</summary>
    Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken);

    Task<Job?> GetAsync(string id, CancellationToken cancellationToken);
}
