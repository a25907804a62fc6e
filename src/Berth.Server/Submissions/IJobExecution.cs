using Berth.Server.Jobs;

namespace Berth.Server.Submissions;

/// <summary>
/// What the API asks of whoever runs jobs: the in-process workers of a SQLite Berth (<c>LocalExecution</c>), or the
/// agents of a fleet, reached through the shared database (<c>FleetExecution</c>).
/// </summary>
public interface IJobExecution
{
    /// <summary>A job was queued: wake an idle worker (agents are woken by the store's notification).</summary>
    void Queued();

    /// <summary>Asks the worker or agent running <paramref name="jobId"/> to stop it; it then saves the job as canceled.</summary>
    Task CancelActiveAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>Frees what a deleted (finished) job still holds besides its record: its files, and any engine leftovers.</summary>
    Task ReleaseDeletedAsync(Job job, CancellationToken cancellationToken);
}
