using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;

namespace Berth.Server.Pipeline;

/// <summary>What the stages of one job run share: the job as it stands, its files and the parsed Dockerfile.</summary>
public sealed class JobContext(Job job, JobPaths paths)
{
    public Job Job { get; set; } = job;

    public JobPaths Paths { get; } = paths;

    /// <summary>Set by the lint stage.</summary>
    public DockerfileDocument? Document { get; set; }
}
