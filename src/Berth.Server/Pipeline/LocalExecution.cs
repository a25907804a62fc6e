using Berth.Server.Jobs;
using Berth.Server.Submissions;

namespace Berth.Server.Pipeline;

/// <summary>Jobs run by this process's workers (<see cref="JobRunner"/>), on the local engine.</summary>
public sealed class LocalExecution(ActiveJobs active, QueueSignal signal, JobResources resources) : IJobExecution
{
    public void Queued() => signal.JobQueued();

    public Task CancelActiveAsync(string jobId, CancellationToken cancellationToken)
    {
        active.Cancel(jobId); // the worker stops the build or the container, then marks the job canceled
        return Task.CompletedTask;
    }

    /// <summary>A job that never started has nothing on the engine or mounted: its files go without asking the engine.</summary>
    public Task ReleaseDeletedAsync(Job job, CancellationToken cancellationToken) =>
        resources.ReleaseAsync(job.Id, job.Attempts == 0 && job.StartedAt is null ? JobParts.Context | JobParts.Directory : JobParts.All, cancellationToken);
}
