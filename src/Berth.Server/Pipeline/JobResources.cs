using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline;

/// <summary>The things a job holds on a node, as <see cref="JobResources.ReleaseAsync"/> releases them.</summary>
[Flags]
public enum JobParts
{
    None = 0,

    /// <summary>Its run containers (found by the <c>berth.job</c> label, so also one a crashed process left).</summary>
    Container = 1,

    /// <summary>Its /data filesystem: unmounted, and its image file deleted.</summary>
    Data = 2,

    /// <summary>Its build's pids cgroup.</summary>
    BuildCgroup = 4,

    /// <summary>The build context it was submitted with (kept while the job may run again).</summary>
    Context = 8,

    /// <summary>Its image tag on the engine.</summary>
    Image = 16,

    /// <summary>Its whole directory: logs, reports, everything.</summary>
    Directory = 32,

    /// <summary>What a run holds while it is running.</summary>
    Run = Container | Data | BuildCgroup,

    All = Run | Context | Image | Directory,
}

/// <summary>
/// The one owner of a job's resources on this node: its container, /data filesystem, build cgroup, image tag and
/// directory. Stages create them through it; the end of a job, recovery at start-up, delete and the janitor all release
/// them through <see cref="ReleaseAsync"/>, which is idempotent, safe to call concurrently for one job, and tries every
/// part even when an earlier one fails (the engine may be down; the janitor tries again later).
/// </summary>
public sealed class JobResources(
    IContainerEngine engine,
    EngineNames names,
    IDataVolumes volumes,
    BuildCgroups cgroups,
    RunscContainers runsc,
    ActiveJobs active,
    IOptions<BerthOptions> options,
    ILogger<JobResources> logger)
{
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    public JobPaths PathsOf(string jobId) => JobPaths.For(options.Value.JobsRoot, jobId);


    /// <summary>A fresh, empty /data of <paramref name="sizeMb"/> MiB owned by <paramref name="uid"/>.</summary>
    public Task PrepareDataAsync(string jobId, int sizeMb, int uid, CancellationToken cancellationToken) =>
        volumes.PrepareAsync(PathsOf(jobId), sizeMb, uid, cancellationToken);

    /// <summary>Whether the job still has a /data (mounted, or its image file).</summary>
    public bool HoldsData(string jobId) => volumes.Holds(PathsOf(jobId));

    /// <summary>Makes the node ready for its first job (spare /data filesystems).</summary>
    public Task WarmUpAsync(CancellationToken cancellationToken) => volumes.WarmUpAsync(cancellationToken);

    /// <summary>The build's pids-limited cgroup parent, or null with the reason it could not be made.</summary>
    public (string? CgroupParent, string? Problem) CreateBuildCgroup(string jobId) => cgroups.Create(jobId);

    /// <summary>
    /// Creates the job's container from <paramref name="spec"/> and records it before anything of it runs: the janitor
    /// only ever kills gVisor processes of recorded containers. When the engine refuses (a container an earlier attempt
    /// or process left still holds the job's name), the job's containers go and the create is tried once more.
    /// </summary>
    public async Task<string> CreateContainerAsync(string jobId, CreateContainerParameters spec, CancellationToken cancellationToken)
    {
        string id;
        try
        {
            id = await engine.CreateContainerAsync(spec, cancellationToken);
        }
        catch (EngineException)
        {
            await RemoveContainersAsync(jobId, cancellationToken);
            id = await engine.CreateContainerAsync(spec, cancellationToken);
        }
        runsc.Record(id);
        return id;
    }

    /// <summary>
    /// Releases <paramref name="parts"/> of the job. Each part is tried even when an earlier one failed; failures are
    /// logged. True when every part is released (or was never there).
    /// </summary>
    public async Task<bool> ReleaseAsync(string jobId, JobParts parts, CancellationToken cancellationToken)
    {
        var gate = _locks[(int)((uint)StringComparer.Ordinal.GetHashCode(jobId) % (uint)_locks.Length)];
        await gate.WaitAsync(cancellationToken);
        try
        {
            var paths = PathsOf(jobId);
            var released = true;
            var files = parts.HasFlag(JobParts.Data) || parts.HasFlag(JobParts.Directory);
            // With Container asked for too, /data and the directory go only once no container of the job can still be
            // using them (or write through them while they go). Callers ask for it whenever the job may have run.
            var containersGone = !parts.HasFlag(JobParts.Container)
                || await TryAsync(jobId, () => RemoveContainersAsync(jobId, cancellationToken));
            released &= containersGone;
            var dataGone = files && containersGone && await TryAsync(jobId, () => volumes.ReleaseAsync(paths, cancellationToken));
            released &= !files || dataGone;
            if (parts.HasFlag(JobParts.BuildCgroup))
            {
                released &= await TryAsync(jobId, () =>
                {
                    cgroups.Remove(jobId);
                    return Task.CompletedTask;
                });
            }
            if (parts.HasFlag(JobParts.Context))
            {
                released &= await TryAsync(jobId, () =>
                {
                    // The engine's tar is only left by a process that died mid-build. File.Delete throws once the
                    // directory is gone (an earlier release took it), so only what exists is deleted.
                    foreach (var file in new[] { paths.BuildContext, paths.EngineBuildContext }.Where(File.Exists))
                    {
                        File.Delete(file);
                    }
                    return Task.CompletedTask;
                });
            }
            if (parts.HasFlag(JobParts.Image))
            {
                // Pruning untagged parents is safe only while no other job here may be building on one of them.
                // An API-only process (Berth:Workers=0) cannot know: another process may be building on this engine.
                var othersActive = options.Value.Workers == 0 || active.Count - (active.IsActive(jobId) ? 1 : 0) > 0;
                released &= await TryAsync(jobId, () => engine.RemoveImageAsync(names.ImageTag(jobId), prune: !othersActive, cancellationToken));
            }
            if (parts.HasFlag(JobParts.Directory) && dataGone)
            {
                released &= await TryAsync(jobId, () =>
                {
                    if (System.IO.Directory.Exists(paths.Directory))
                    {
                        System.IO.Directory.Delete(paths.Directory, recursive: true);
                    }
                    return Task.CompletedTask;
                });
            }
            return released;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task RemoveContainersAsync(string jobId, CancellationToken cancellationToken)
    {
        foreach (var container in await engine.ListContainersAsync([EngineNames.JobFilter(jobId), names.InstanceFilter], cancellationToken))
        {
            await engine.RemoveContainerAsync(container.Id, cancellationToken);
        }
    }

    private async Task<bool> TryAsync(string jobId, Func<Task> step)
    {
        try
        {
            await step();
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.CleanupFailed(logger, jobId, e);
            return false;
        }
    }
}
