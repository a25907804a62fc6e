using Berth.Server.Jobs;

namespace Berth.Server.Pipeline;

/// <summary>One step of the pipeline. Ends the job by throwing <see cref="JobFailedException"/>.</summary>
public interface IJobStage
{
    /// <summary>Stable stage name shown in the job view.</summary>
    string Name { get; }

    /// <summary>The job status while this stage runs.</summary>
    JobStatus Status { get; }

    Task ExecuteAsync(JobContext context, CancellationToken cancellationToken);
}
