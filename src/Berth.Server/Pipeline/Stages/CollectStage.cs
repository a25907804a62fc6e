using Berth.Server.Jobs;

namespace Berth.Server.Pipeline.Stages;

/// <summary>Reads the float <c>perf</c> the job wrote to /data/perf.json (see <see cref="PerfFileReader"/>).</summary>
public sealed class CollectStage : IJobStage
{
    public string Name => "collect";

    public JobStatus Status => JobStatus.Running;

    public Task<StageOutcome> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        try
        {
            context.Job = context.Job with { Performance = PerfFileReader.Read(context.Paths.Data) };
            return Task.FromResult(StageOutcome.Completed);
        }
        catch (JobFailedException e)
        {
            return Task.FromResult(DataVolumes.Exhausted(context.Paths, context.Job.Limits.DataMb) is { } what
                ? StageOutcome.Failed(FailureReasons.DataQuotaExceeded, $"the job filled /data ({what}): {e.Message}")
                : StageOutcome.Failed(e.ToFailure()));
        }
    }
}
