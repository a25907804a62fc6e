using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline;

/// <summary>
/// Removes what finished or vanished jobs left behind: containers (found by the <c>berth.job</c> label),
/// <c>berth-&lt;instance&gt;/job-*</c> images (once Build:ImageRetentionSeconds have passed), mounted /data volumes,
/// build cgroups, stray runsc processes,
/// and job directories of jobs the store no longer has. Runs at start-up and every
/// <c>Berth:JanitorIntervalSeconds</c>. Never touches a job a worker is running.
/// </summary>
public sealed partial class Janitor(
    IJobStore store,
    DockerEngine engine,
    HardeningProfile profile,
    DataVolumes volumes,
    BuildCgroups buildCgroups,
    ActiveJobs active,
    IOptions<BerthOptions> options,
    IOptions<BuildOptions> buildOptions,
    TimeProvider time,
    ILogger<Janitor> logger)
{
    /// <summary>A directory of a job the store does not know is left alone this long: it may be a submission in progress.</summary>
    public static readonly TimeSpan UnknownDirectoryGrace = TimeSpan.FromMinutes(10);

    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var (containerId, jobId) in await engine.ListJobContainersAsync(profile.InstanceFilter, cancellationToken))
            {
                if (await IsLeftoverAsync(jobId, cancellationToken))
                {
                    await engine.RemoveContainerAsync(containerId, cancellationToken);
                    Log.OrphanRemoved(logger, $"container {containerId}", jobId);
                }
            }
            foreach (var (image, jobId) in await engine.ListJobImagesAsync(profile.ImageTagPattern, cancellationToken))
            {
                var job = await store.GetAsync(jobId, cancellationToken);
                var retained = job?.FinishedAt is { } finished
                    && time.GetUtcNow() - finished < TimeSpan.FromSeconds(buildOptions.Value.ImageRetentionSeconds);
                if (!retained && await IsLeftoverAsync(jobId, cancellationToken))
                {
                    await engine.RemoveImageAsync(image, cancellationToken);
                    Log.OrphanRemoved(logger, $"image {image}", jobId);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.RecoveryEngineUnavailable(logger, e);
        }

        await KillStrayRunscProcessesAsync(cancellationToken);
        buildCgroups.Sweep(active.IsActive);

        if (!Directory.Exists(options.Value.JobsRoot))
        {
            return;
        }
        foreach (var directory in Directory.EnumerateDirectories(options.Value.JobsRoot))
        {
            var jobId = Path.GetFileName(directory);
            if (!await IsLeftoverAsync(jobId, cancellationToken))
            {
                continue;
            }
            var paths = JobPaths.For(options.Value.JobsRoot, jobId);
            var unknown = await store.GetAsync(jobId, cancellationToken) is null;
            if (unknown && time.GetUtcNow().UtcDateTime - Directory.GetLastWriteTimeUtc(directory) < UnknownDirectoryGrace)
            {
                continue;
            }
            try
            {
                if (DataVolumes.IsMounted(paths.Data) || File.Exists(DataVolumes.ImagePath(paths)))
                {
                    await volumes.ReleaseAsync(paths, cancellationToken);
                    Log.OrphanRemoved(logger, "data volume", jobId);
                }
                if (unknown)
                {
                    Directory.Delete(directory, recursive: true);
                    Log.OrphanRemoved(logger, "job directory", jobId);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.CleanupFailed(logger, jobId, e);
            }
        }
    }

    /// <summary>
    /// A failed runsc start can leave its gofer or sandbox process behind. Such a process names its
    /// container's 64-hex id on its command line; when the engine no longer has that container, it goes.
    /// </summary>
    private async Task KillStrayRunscProcessesAsync(CancellationToken cancellationToken)
    {
        foreach (var (pid, containerIds) in RunscProcesses())
        {
            try
            {
                var alive = false;
                foreach (var id in containerIds)
                {
                    alive |= await engine.ContainerExistsAsync(id, cancellationToken);
                }
                if (!alive)
                {
                    using var process = System.Diagnostics.Process.GetProcessById(pid);
                    process.Kill();
                    Log.OrphanRemoved(logger, $"runsc process {pid}", containerIds[0]);
                }
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception
                                      or global::Docker.DotNet.DockerApiException or HttpRequestException)
            {
                // gone already, or the engine cannot tell: try again next sweep
            }
        }
    }

    private static IEnumerable<(int Pid, List<string> ContainerIds)> RunscProcesses()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            string comm, cmdline;
            try
            {
                comm = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                if (comm is not ("runsc-gofer" or "runsc-sandbox"))
                {
                    continue;
                }
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            var ids = ContainerIdPattern().Matches(cmdline).Select(m => m.Value).Distinct().ToList();
            if (ids.Count > 0)
            {
                yield return (pid, ids);
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")]
    private static partial System.Text.RegularExpressions.Regex ContainerIdPattern();

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

/// <summary>Runs the janitor every <c>Berth:JanitorIntervalSeconds</c>.</summary>
public sealed class JanitorService(Janitor janitor, IOptions<BerthOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.JanitorIntervalSeconds), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await janitor.SweepAsync(stoppingToken);
        }
    }
}
