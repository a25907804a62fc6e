using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;

namespace Berth.Server.Pipeline;

/// <summary>What the stages of one job run share.</summary>
public sealed class JobContext(Job job, JobPaths paths)
{
    public Job Job { get; set; } = job;

    public JobPaths Paths { get; } = paths;

    /// <summary>Set by the lint stage.</summary>
    public DockerfileDocument? Document { get; set; }

    /// <summary>Set by a stage that decided not to run (e.g. Scan:Enabled=false); the stage shows as skipped.</summary>
    public bool StageSkipped { get; set; }

    /// <summary>Set by the run stage as soon as the container exists, so clean-up can remove it directly.</summary>
    public string? ContainerId { get; set; }
}
