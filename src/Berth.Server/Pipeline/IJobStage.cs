using Berth.Server.Jobs;

namespace Berth.Server.Pipeline;

/// <summary>One step of the pipeline, registered in <see cref="JobPipeline"/>.</summary>
public interface IJobStage
{
    /// <summary>Stable stage name shown in the job view.</summary>
    string Name { get; }

    /// <summary>The job status while this stage runs.</summary>
    JobStatus Status { get; }

    /// <summary>
    /// Runs the stage. How it ended is the outcome; an exception means it could not end (cancellation, the engine
    /// failing: <see cref="Docker.EngineException"/>, or a bug).
    /// </summary>
    Task<StageOutcome> ExecuteAsync(JobContext context, CancellationToken cancellationToken);
}

/// <summary>How a stage ended: it did its work, decided not to run, or failed the job with a reason.</summary>
public abstract record StageOutcome
{
    public static StageOutcome Completed { get; } = new CompletedOutcome();

    public static StageOutcome Skipped { get; } = new SkippedOutcome();

    public static StageOutcome Failed(string reason, string message) => new FailedOutcome(new JobFailure(reason, message));

    public static StageOutcome Failed(JobFailure failure) => new FailedOutcome(failure);

    public sealed record CompletedOutcome : StageOutcome;

    public sealed record SkippedOutcome : StageOutcome;

    public sealed record FailedOutcome(JobFailure Failure) : StageOutcome;
}
