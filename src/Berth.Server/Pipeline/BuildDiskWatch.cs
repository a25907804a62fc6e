using System.IO.Enumeration;
using Berth.Server.Docker;
using Berth.Scanner;

namespace Berth.Server.Pipeline;

/// <summary>
/// How much disk a running build has added, measured from what the engine and the kernel say, never from the
/// build's own output (a RUN step can print anything): the layers of every image committed since the build
/// started that carries the owner's cache label (Berth injects it after each FROM), plus the writable layers of
/// the build's running RUN containers, found through the build's cgroup (the engine names each container's
/// cgroup after the container). Sparse files count at their full length: the scan would read them whole; every
/// entry, a directory or an empty file included, counts at least one 4 KiB block. As a backstop for what neither
/// sees (a COPY that writes inside dockerd, files a step made and the committed layer's size leaves out), the
/// engine's own filesystem is watched too: see <see cref="Backstop"/>.
/// </summary>
public sealed class BuildDiskWatch(IContainerEngine engine, BuildCgroups cgroups)
{
    private const long Block = 4096;

    /// <summary>Most files a build may create, measured as free inodes lost on the engine's filesystem.</summary>
    public const ulong MaxNewFiles = 1_000_000;

    /// <summary>Free space and inodes of the engine's data root at one moment, or null when it is not on this host.</summary>
    public sealed record Mark(string Root, ulong FreeBytes, ulong FreeInodes);

    public async Task<Mark?> MarkAsync(CancellationToken cancellationToken)
    {
        var root = (await engine.InfoAsync(cancellationToken)).RootDirectory;
        if (root is null || !Directory.Exists(root))
        {
            return null; // a remote engine: the per-build measure is all there is
        }
        var (free, inodes, _) = NativeFiles.FreeSpace(root);
        return new Mark(root, free, inodes);
    }

    /// <summary>
    /// What is wrong when the engine's filesystem lost more than twice <paramref name="capBytes"/> (the caller passes
    /// the cap times the jobs running here, whose writes land on the same disk; the factor leaves room for the rest) or more than <see cref="MaxNewFiles"/> inodes since <paramref name="start"/>.
    /// </summary>
    public static string? Backstop(Mark start, long capBytes)
    {
        var (free, inodes, _) = NativeFiles.FreeSpace(start.Root);
        var lost = start.FreeBytes > free ? start.FreeBytes - free : 0;
        if (lost > (ulong)capBytes * 2)
        {
            return $"the engine's disk lost {lost / (ulong)Units.MiB} MiB during the build, more than twice the {Units.ToMebibytes(capBytes)} MiB the builds running here may write (Build:MaxImageMb)";
        }
        var files = start.FreeInodes > inodes ? start.FreeInodes - inodes : 0;
        return files > MaxNewFiles ? $"the build created more than {MaxNewFiles} files on the engine's disk" : null;
    }

    /// <summary>Bytes added so far by builds of <paramref name="cacheLabel"/> started at <paramref name="since"/> or later.</summary>
    public async Task<long> MeasureAsync(string jobId, string cacheLabel, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var images = await engine.ListImagesAsync(cacheLabel, danglingOnly: false, cancellationToken);
        var sizes = images.GroupBy(i => i.Id).ToDictionary(g => g.Key, g => g.First().Size);
        long total = 0;
        foreach (var image in images.Where(i => i.Created >= since))
        {
            total += Math.Max(0, image.Size - await SizeOfAsync(image.ParentId, sizes, cancellationToken));
        }
        foreach (var containerId in cgroups.Containers(jobId))
        {
            if ((await engine.InspectContainerAsync(containerId, cancellationToken))?.UpperDir is { } upper)
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

    private static bool IsLink(in FileSystemEntry e) => (e.Attributes & FileAttributes.ReparsePoint) != 0;

    /// <summary>Sum of the lengths of every file under <paramref name="directory"/>; symlinks are not followed.</summary>
    internal static long DirectorySize(string directory)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        try
        {
            // A symlink in a layer is the job's: it counts as a block and is never followed (it may point at the
            // host's root, or at itself).
            return new FileSystemEnumerable<long>(directory, (ref FileSystemEntry e) => IsLink(e) || e.IsDirectory ? Block : Math.Max(Block, e.Length), options)
            {
                ShouldRecursePredicate = (ref FileSystemEntry e) => !IsLink(e),
            }.Sum();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0; // the container went away while we walked it
        }
    }
}
