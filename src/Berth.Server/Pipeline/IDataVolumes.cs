using Berth.Server.Jobs;

namespace Berth.Server.Pipeline;

/// <summary>Each job's /data filesystem on this node (<see cref="DataVolumes"/>). A seam: making one needs root and mount(8).</summary>
public interface IDataVolumes
{
    /// <summary>Makes the spare filesystems ready before the first job needs one.</summary>
    Task WarmUpAsync(CancellationToken cancellationToken);

    /// <summary>A fresh, empty, mounted /data of <paramref name="sizeMb"/> MiB owned by <paramref name="uid"/>.</summary>
    Task PrepareAsync(JobPaths paths, int sizeMb, int uid, CancellationToken cancellationToken);

    /// <summary>Unmounts the job's /data and deletes it. Safe to call when nothing is there.</summary>
    Task ReleaseAsync(JobPaths paths, CancellationToken cancellationToken);

    /// <summary>Whether the job still has a /data (mounted, or its image file).</summary>
    bool Holds(JobPaths paths);
}
