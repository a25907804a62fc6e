namespace Berth.Server.Jobs;

/// <summary>Where a job's files live on the host: <c>&lt;DataRoot&gt;/jobs/&lt;id&gt;/</c>.</summary>
public sealed record JobPaths(string Directory)
{
    /// <summary>The job's directory; <paramref name="jobId"/> must be one plain name (never a path, <c>.</c> or <c>..</c>).</summary>
    public static JobPaths For(string jobsRoot, string jobId) =>
        jobId.Length == 0 || jobId is "." or ".." || jobId.Contains('/', StringComparison.Ordinal) || jobId.Contains('\0', StringComparison.Ordinal)
            ? throw new ArgumentException($"'{jobId}' is not a job id", nameof(jobId))
            : new(Path.Combine(jobsRoot, jobId));

    /// <summary>The Dockerfile as submitted.</summary>
    public string Dockerfile => Path.Combine(Directory, "Dockerfile");

    /// <summary>The tar the engine builds from (context entries plus the Dockerfile).</summary>
    public string BuildContext => Path.Combine(Directory, "context.tar");

    /// <summary>The tar sent to the engine (the context with the Dockerfile Berth builds); exists only during the build.</summary>
    public string EngineBuildContext => Path.Combine(Directory, "build.tar");

    public string BuildLog => Path.Combine(Directory, "build.log");

    public string RunLog => Path.Combine(Directory, "run.log");

    /// <summary>The scan report (every finding, after policy).</summary>
    public string ScanReport => Path.Combine(Directory, "scan-report.json");

    /// <summary>The image's CycloneDX 1.5 SBOM.</summary>
    public string Sbom => Path.Combine(Directory, "sbom.cdx.json");

    /// <summary>Mounted at /data in the job container; owned by the run uid, mode 0700.</summary>
    public string Data => Path.Combine(Directory, "data");
}
