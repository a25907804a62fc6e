using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline;

/// <summary>
/// Removes what finished or vanished jobs left behind: containers (found by the <c>berth.job</c> label),
/// <c>berth-&lt;instance&gt;/job-*</c> images (once Build:ImageRetentionSeconds have passed), gVisor processes of
/// this instance's gone containers, build cgroups, mounted /data volumes and job directories of jobs the store no
/// longer has. Runs at start-up and every <c>Berth:JanitorIntervalSeconds</c>. Never touches a job a worker is running.
/// Never throws (but for cancellation): each part, and each item in it, that fails is logged and tried again next sweep.
/// </summary>
public sealed class Janitor(
    IJobLedger store,
    IContainerEngine engine,
    EngineNames names,
    JobResources resources,
    BuildCgroups buildCgroups,
    RunscContainers runscContainers,
    ActiveJobs active,
    IOptions<BerthOptions> options,
    IOptions<BuildOptions> buildOptions,
    TimeProvider time,
    ILogger<Janitor> logger)
{
    /// <summary>A directory of a job the store does not know is left alone this long: it may be a submission in progress.</summary>
    public static readonly TimeSpan UnknownDirectoryGrace = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long this janitor leaves a directory of an unknown job alone: <see cref="UnknownDirectoryGrace"/>, or zero on an
    /// agent, whose lease client knows each job it claimed before it makes the job's directory (so there every unknown
    /// job's directory is a leftover, even one a previous run of the agent made a moment ago).
    /// </summary>
    internal TimeSpan DirectoryGrace { get; set; } = UnknownDirectoryGrace;

    private const string ProcRoot = "/proc";

    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        await PartAsync("containers", SweepContainersAsync, cancellationToken);
        await PartAsync("images", SweepImagesAsync, cancellationToken);
        await PartAsync("build layers", SweepBuildLayersAsync, cancellationToken);
        await PartAsync("gVisor processes", SweepRunscAsync, cancellationToken);
        await PartAsync("build cgroups", async ct =>
        {
            foreach (var jobId in buildCgroups.List().Where(j => !active.IsActive(j)))
            {
                await resources.ReleaseAsync(jobId, JobParts.BuildCgroup, ct);
            }
        }, cancellationToken);
        await PartAsync("job directories", SweepDirectoriesAsync, cancellationToken);
    }

    private async Task PartAsync(string part, Func<CancellationToken, Task> sweep, CancellationToken cancellationToken)
    {
        try
        {
            await sweep(cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            Log.JanitorPartFailed(logger, part, e);
        }
    }

    private async Task SweepContainersAsync(CancellationToken cancellationToken)
    {
        var containers = await engine.ListContainersAsync([EngineNames.JobLabel, names.InstanceFilter], cancellationToken);
        foreach (var job in containers.GroupBy(c => EngineNames.JobOfLabels(c.Labels)))
        {
            if (job.Key is not { } jobId)
            {
                continue;
            }
            await PartAsync($"containers of job {jobId}", async ct =>
            {
                if (await IsLeftoverAsync(jobId, ct) && await resources.ReleaseAsync(jobId, JobParts.Container, ct))
                {
                    foreach (var container in job)
                    {
                        Log.OrphanRemoved(logger, $"container {container.Id}", jobId);
                    }
                }
            }, cancellationToken);
        }
    }

    private async Task SweepImagesAsync(CancellationToken cancellationToken)
    {
        foreach (var jobId in (await engine.ListImageTagsAsync(names.ImageTagPattern, cancellationToken)).Select(names.JobOfImageTag).OfType<string>().Distinct())
        {
            await PartAsync($"image of job {jobId}", async ct =>
            {
                var job = await store.GetAsync(jobId, ct);
                var retained = job?.FinishedAt is { } finished
                    && time.GetUtcNow() - finished < TimeSpan.FromSeconds(buildOptions.Value.ImageRetentionSeconds);
                if (!retained && await IsLeftoverAsync(jobId, ct) && await resources.ReleaseAsync(jobId, JobParts.Image, ct))
                {
                    Log.OrphanRemoved(logger, $"image {names.ImageTag(jobId)}", jobId);
                }
            }, cancellationToken);
        }
    }

    /// <summary>
    /// Untagged layers of failed, canceled or interrupted builds: dangling images carrying this instance's label
    /// (Berth labels every layer after a FROM) go once <c>Build:ImageRetentionSeconds</c> have passed, which keeps
    /// the owner's build cache warm for a retry until then. Deleting the newest layer also deletes its untagged
    /// parents. While a job runs here, only layers older than <c>Build:TimeoutSeconds</c> go: a running build's
    /// newest layer is younger than that, and one a step still uses is refused by the engine.
    /// </summary>
    private async Task SweepBuildLayersAsync(CancellationToken cancellationToken)
    {
        var build = buildOptions.Value;
        foreach (var image in await engine.ListImagesAsync(names.InstanceFilter, danglingOnly: true, cancellationToken))
        {
            // Asked again for each layer: a job that started since the list was taken may be building on it (a cache
            // hit holds no container, so the engine would not refuse the removal).
            var minimumAge = TimeSpan.FromSeconds(Math.Max(build.ImageRetentionSeconds, active.Count > 0 ? build.TimeoutSeconds : 0));
            if (time.GetUtcNow() - image.Created < minimumAge)
            {
                continue;
            }
            await PartAsync($"build layer {image.Id}", async ct =>
            {
                if (await engine.RemoveImageAsync(image.Id, prune: active.Count == 0, ct))
                {
                    Log.BuildLayerRemoved(logger, image.Id);
                }
            }, cancellationToken);
        }
    }

    /// <summary>
    /// A failed runsc start can leave its gofer or sandbox process behind. One goes when it is provably a sandbox of a
    /// container this instance recorded (<see cref="RunscContainers"/>) that the engine no longer has: see
    /// <see cref="RunscProcesses"/>.
    /// </summary>
    private async Task SweepRunscAsync(CancellationToken cancellationToken)
    {
        var gone = new List<string>();
        foreach (var containerId in runscContainers.List())
        {
            if (await engine.InspectContainerAsync(containerId, cancellationToken) is null)
            {
                gone.Add(containerId);
            }
        }
        if (gone.Count == 0)
        {
            return;
        }
        var runsc = (await engine.InfoAsync(cancellationToken)).Runtimes.GetValueOrDefault("runsc") is { } path && ResolveExecutable(path) is { } file
            ? FileIdentity.Of(file)
            : null;
        var plan = RunscProcesses.Plan(gone, RunscProcesses.Find(ProcRoot), runsc);
        foreach (var process in plan.Kill)
        {
            if (RunscProcesses.Kill(ProcRoot, process))
            {
                Log.RunscProcessKilled(logger, process.Pid, process.ContainerId);
            }
        }
        foreach (var containerId in plan.Forget)
        {
            runscContainers.Forget(containerId);
        }
    }

    /// <summary>The daemon's runtime path: absolute, or a name it looks up on PATH (as this process does).</summary>
    private static string? ResolveExecutable(string path) =>
        Path.IsPathRooted(path)
            ? path
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(directory => Path.Combine(directory, path)).FirstOrDefault(File.Exists);

    private async Task SweepDirectoriesAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(options.Value.JobsRoot))
        {
            return;
        }
        foreach (var directory in Directory.EnumerateDirectories(options.Value.JobsRoot).ToList())
        {
            var jobId = Path.GetFileName(directory);
            await PartAsync($"job directory {jobId}", ct => SweepDirectoryAsync(directory, jobId, ct), cancellationToken);
        }
    }

    private async Task SweepDirectoryAsync(string directory, string jobId, CancellationToken cancellationToken)
    {
        if (!await IsLeftoverAsync(jobId, cancellationToken))
        {
            return;
        }
        var unknown = await store.GetAsync(jobId, cancellationToken) is null;
        if (unknown && time.GetUtcNow().UtcDateTime - Directory.GetLastWriteTimeUtc(directory) < DirectoryGrace)
        {
            return;
        }
        if (unknown)
        {
            if (await resources.ReleaseAsync(jobId, JobParts.Container | JobParts.Directory, cancellationToken))
            {
                Log.OrphanRemoved(logger, "job directory", jobId);
            }
        }
        else if (resources.HoldsData(jobId))
        {
            if (await resources.ReleaseAsync(jobId, JobParts.Container | JobParts.Data, cancellationToken))
            {
                Log.OrphanRemoved(logger, "data volume", jobId);
            }
        }
    }

    /// <summary>A job no worker here runs, that the store holds as finished or not at all.</summary>
    private async Task<bool> IsLeftoverAsync(string jobId, CancellationToken cancellationToken)
    {
        if (active.IsActive(jobId))
        {
            return false;
        }
        var job = await store.GetAsync(jobId, cancellationToken);
        return job is null || job.Status.IsTerminal();
    }
}

/// <summary>Runs the janitor every <c>Berth:JanitorIntervalSeconds</c>; no sweep failure ever stops the service.</summary>
public sealed class JanitorService(Janitor janitor, IOptions<BerthOptions> options, TimeProvider time, ILogger<JanitorService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Workers == 0)
        {
            return; // API only: the engine resources of jobs are not this server's to sweep
        }
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.JanitorIntervalSeconds), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await janitor.SweepAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.JanitorPartFailed(logger, "sweep", e);
            }
        }
    }
}
