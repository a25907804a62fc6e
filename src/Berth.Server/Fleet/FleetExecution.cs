using Berth.Server.Jobs;
using Berth.Server.Submissions;

namespace Berth.Server.Fleet;

/// <summary>Jobs run by agents: a cancel is a flag their next heartbeat reads; a deleted job's files leave the shared database.</summary>
public sealed class FleetExecution(IFleetStore fleet, IJobFiles files) : IJobExecution
{
    public void Queued()
    {
        // The store notifies waiting claims in the transaction that queued the job, on every API server.
    }

    public Task CancelActiveAsync(string jobId, CancellationToken cancellationToken) => fleet.RequestCancelAsync(jobId, cancellationToken);

    public Task ReleaseDeletedAsync(Job job, CancellationToken cancellationToken) => files.DeleteAllAsync(job.Id, cancellationToken);
}
