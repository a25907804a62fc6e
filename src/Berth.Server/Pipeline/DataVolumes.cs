using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline;

/// <summary>
/// Each job's /data is its own small ext4 filesystem: a sparse image file in the job directory,
/// loop-mounted <c>nosuid,nodev,noexec</c> on the job's data directory, its root owned by the run uid
/// with mode 0700. Writing past the job's <c>dataMb</c> fails inside the container with ENOSPC, and the
/// host never gives a job more disk than that. mkfs.ext4 sizes the inode table from the size too, so
/// creating too many files fails with ENOSPC as well; both count as a full /data (<see cref="Exhausted(JobPaths, int)"/>).
/// <para>
/// Up to <c>Berth:DataPoolSize</c> empty filesystems of <c>Limits:DataMb</c> wait formatted in
/// <c>&lt;DataRoot&gt;/data-pool/</c>: a job of that size gets one moved into its directory, and a new one is made in
/// the background. Each is made by Berth and used by one job only, then deleted; none is ever reused.
/// </para>
/// </summary>
public sealed class DataVolumes(IOptions<BerthOptions> berth, IOptions<LimitsOptions> limits, ILogger<DataVolumes> logger) : IDataVolumes
{
    private const ulong MiB = 1024 * 1024;
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly ConcurrentQueue<string> _pool = new();
    private int _filling;

    public static string ImagePath(JobPaths paths) => Path.Combine(paths.Directory, "data.img");

    private string PoolRoot => Path.Combine(berth.Value.DataRoot, "data-pool");

    /// <summary>Empties what a previous process left in the pool (nothing of it is trusted), then fills it.</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        _pool.Clear();
        if (Directory.Exists(PoolRoot))
        {
            Directory.Delete(PoolRoot, recursive: true);
        }
        await FillAsync(cancellationToken);
    }

    /// <summary>A fresh, empty, mounted /data of <paramref name="sizeMb"/> MiB owned by <paramref name="uid"/> (anything from an earlier attempt is gone).</summary>
    public async Task PrepareAsync(JobPaths paths, int sizeMb, int uid, CancellationToken cancellationToken)
    {
        await ReleaseAsync(paths, cancellationToken);
        Directory.CreateDirectory(paths.Data, OwnerOnly);
        var image = ImagePath(paths);
        if (sizeMb == limits.Value.DataMb && _pool.TryDequeue(out var pooled))
        {
            File.Move(pooled, image);
            _ = FillInBackground();
        }
        else
        {
            await FormatAsync(image, sizeMb, cancellationToken);
        }
        await RunAsync("mount", ["-t", "ext4", "-o", "loop,nosuid,nodev,noexec", image, paths.Data], cancellationToken);
        File.SetUnixFileMode(paths.Data, OwnerOnly);
        NativeFiles.Chown(paths.Data, uid, uid);
        var lostFound = Path.Combine(paths.Data, "lost+found");
        if (Directory.Exists(lostFound))
        {
            Directory.Delete(lostFound);
        }
    }

    /// <summary>A sparse file holding an empty ext4 of <paramref name="sizeMb"/> MiB, its root owned by root until mounted for a job.</summary>
    private static async Task FormatAsync(string image, int sizeMb, CancellationToken cancellationToken)
    {
        await using (var file = new FileStream(image, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.SetLength(sizeMb * (long)MiB); // sparse: blocks are used only as the job writes
        }
        File.SetUnixFileMode(image, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await RunAsync("mkfs.ext4", ["-q", "-F", "-m", "0", "-O", "^has_journal", image], cancellationToken);
    }

    private async Task FillInBackground()
    {
        try
        {
            await FillAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.DataPoolFillFailed(logger, e); // jobs format their own until it works again
        }
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _filling, 1) == 1)
        {
            return; // another fill is running
        }
        try
        {
            Directory.CreateDirectory(PoolRoot, OwnerOnly);
            while (_pool.Count < berth.Value.DataPoolSize)
            {
                var image = Path.Combine(PoolRoot, Guid.NewGuid().ToString("N") + ".img");
                await FormatAsync(image, limits.Value.DataMb, cancellationToken);
                _pool.Enqueue(image);
            }
        }
        finally
        {
            Volatile.Write(ref _filling, 0);
        }
    }

    /// <summary>Whether the job has a /data mounted or its image file.</summary>
    public bool Holds(JobPaths paths) => IsMounted(paths.Data) || File.Exists(ImagePath(paths));

    /// <summary>Fewer free inodes than this, and /data counts as full: the job cannot create files any more.</summary>
    internal const int InodeSlack = 16;

    /// <summary>
    /// What the job used up in its /data, worded for a failure message, or null when /data is not mounted
    /// or still has room. Space (less than 1 MiB left) and inodes (fewer than <see cref="InodeSlack"/> left) both count:
    /// a job that makes too many small files fills /data as surely as one that writes a big file.
    /// </summary>
    public static string? Exhausted(JobPaths paths, int dataMb)
    {
        try
        {
            if (!IsMounted(paths.Data))
            {
                return null;
            }
            var (freeBytes, freeInodes, inodes) = NativeFiles.FreeSpace(paths.Data);
            return Exhausted(freeBytes, freeInodes, inodes, dataMb);
        }
        catch (IOException)
        {
            return null;
        }
    }

    internal static string? Exhausted(ulong freeBytes, ulong freeInodes, ulong inodes, int dataMb) =>
        freeBytes < MiB ? string.Create(CultureInfo.InvariantCulture, $"its {dataMb} MiB quota, limits.dataMb")
        : freeInodes < InodeSlack ? string.Create(CultureInfo.InvariantCulture, $"all {inodes} inodes: a {dataMb} MiB /data holds at most that many files, limits.dataMb")
        : null;

    /// <summary>Unmounts /data and deletes its image. Safe to call when nothing is mounted.</summary>
    /// <remarks>
    /// Never deletes through a mount: once unmounted, /data is the empty mount point and goes with a plain
    /// <c>rmdir</c>; while something is still mounted there (umount failed) nothing is deleted and the release fails.
    /// </remarks>
    public async Task ReleaseAsync(JobPaths paths, CancellationToken cancellationToken)
    {
        if (IsMounted(paths.Data))
        {
            try
            {
                await RunAsync("umount", [paths.Data], cancellationToken);
            }
            catch (IOException)
            {
                await RunAsync("umount", ["-l", paths.Data], cancellationToken); // busy: detach now, free when unused
            }
            if (IsMounted(paths.Data))
            {
                throw new IOException($"{paths.Data} is still mounted after umount; left for the next sweep");
            }
        }
        if (Directory.Exists(paths.Data))
        {
            Directory.Delete(paths.Data, recursive: false);
        }
        if (File.Exists(ImagePath(paths)))
        {
            File.Delete(ImagePath(paths)); // File.Delete throws when the job's directory is gone already
        }
    }

    /// <summary>Whether something is mounted at <paramref name="path"/>, compared as the kernel records it (links resolved).</summary>
    public static bool IsMounted(string path)
    {
        var full = (Berth.Scanner.Layers.RealPaths.Resolve(path) ?? Path.GetFullPath(path)).TrimEnd('/');
        // /proc/self/mountinfo: field 5 is the mount point, with spaces etc. octal-escaped.
        return File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Any(fields => fields.Length > 4 && Unescape(fields[4]) == full);
    }

    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);

    private static async Task RunAsync(string command, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new IOException($"{command} could not be started");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new IOException($"{command} {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}): {(await stderr).Trim()}");
        }
    }
}
