using System.IO.Enumeration;
using Berth.Server.Docker;

namespace Berth.Server.Pipeline;

/// <summary>
/// How much disk a running build has added, measured from what the engine and the kernel say, never from the
/// build's own output (a RUN step can print anything): the layers of every image committed since the build
/// started that carries the owner's cache label (Berth injects it after each FROM), plus the writable layers of
/// the build's running RUN containers, found through the build's cgroup (the engine names each container's
/// cgroup after the container). Sparse files count at their full length: the scan would read them whole.
/// </summary>
public sealed class BuildDiskWatch(DockerEngine engine, BuildCgroups cgroups)
{
    /// <summary>Bytes added so far by builds of <paramref name="cacheLabel"/> started at <paramref name="since"/> or later.</summary>
    public async Task<long> MeasureAsync(string jobId, string cacheLabel, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var images = await engine.ListLabelledImagesAsync(cacheLabel, danglingOnly: false, cancellationToken);
        var sizes = images.GroupBy(i => i.ID).ToDictionary(g => g.Key, g => g.First().Size);
        long total = 0;
        foreach (var image in images.Where(i => new DateTimeOffset(DateTime.SpecifyKind(i.Created, DateTimeKind.Utc)) >= since))
        {
            total += Math.Max(0, image.Size - await SizeOfAsync(image.ParentID, sizes, cancellationToken));
        }
        foreach (var containerId in cgroups.Containers(jobId))
        {
            if (await engine.ContainerUpperDirAsync(containerId, cancellationToken) is { } upper)
            {
                total += DirectorySize(upper);
            }
        }
        return total;
    }

    private async Task<long> SizeOfAsync(string? imageId, Dictionary<string, long> sizes, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(imageId))
        {
            return 0;
        }
        if (!sizes.TryGetValue(imageId, out var size))
        {
            size = (await engine.InspectImageAsync(imageId, cancellationToken))?.Size ?? 0;
            sizes[imageId] = size;
        }
        return size;
    }

    /// <summary>Sum of the lengths of every file under <paramref name="directory"/>; symlinks are not followed.</summary>
    internal static long DirectorySize(string directory)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        try
        {
            return new FileSystemEnumerable<long>(directory, (ref FileSystemEntry e) => e.IsDirectory ? 0 : e.Length, options).Sum();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0; // the container went away while we walked it
        }
    }
}
