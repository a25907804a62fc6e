using System.Diagnostics;
using System.Globalization;
using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Pipeline;

public sealed class DataVolumesTests
{
    private const ulong MiB = 1024 * 1024;

    [Fact]
    public void Exhausted_LessThanOneMiBLeft_IsTheSpaceQuota() =>
        Assert.Equal("its 16 MiB quota, limits.dataMb", DataVolumes.Exhausted(MiB - 1, 1000, 4096, 16));

    [Theory]
    [InlineData(0UL)]
    [InlineData((ulong)DataVolumes.InodeSlack - 1)]
    public void Exhausted_NoInodesLeft_IsFullEvenWithSpaceLeft(ulong freeInodes)
    {
        var what = DataVolumes.Exhausted(10 * MiB, freeInodes, 4096, 16);
        Assert.Equal("all 4096 inodes: a 16 MiB /data holds at most that many files, limits.dataMb", what);
    }

    [Fact]
    public void Exhausted_SpaceAndInodesLeft_IsNotFull() =>
        Assert.Null(DataVolumes.Exhausted(MiB, DataVolumes.InodeSlack, 4096, 16));

    [Fact]
    public async Task ReleaseAsync_JobDirectoryGone_DoesNothing()
    {
        var root = Directory.CreateTempSubdirectory("berth-data-").FullName;
        try
        {
            var volumes = new DataVolumes(Options.Create(new BerthOptions { DataRoot = root }), Options.Create(new LimitsOptions()), NullLogger<DataVolumes>.Instance);

            await volumes.ReleaseAsync(JobPaths.For(Path.Combine(root, "jobs"), "gone"), CancellationToken.None); // as a second release does

            Assert.False(Directory.Exists(Path.Combine(root, "jobs")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void FreeSpace_MatchesStatDashF()
    {
        var dir = Path.GetTempPath();
        var start = new ProcessStartInfo("stat", ["-f", "-c", "%c %S", dir]) { RedirectStandardOutput = true };
        using var stat = Process.Start(start)!;
        var fields = stat.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.TrimEntries).Select(f => ulong.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        stat.WaitForExit();

        var (freeBytes, freeInodes, inodes) = NativeFiles.FreeSpace(dir);

        Assert.Equal(fields[0], inodes); // f_files, read at the offset statvfs(3) puts it
        Assert.True(freeInodes <= inodes);
        Assert.Equal(0UL, freeBytes % fields[1]); // a whole number of fragments
        var drive = (ulong)new DriveInfo(dir).AvailableFreeSpace;
        Assert.InRange(freeBytes, drive > 256 * MiB ? drive - 256 * MiB : 0, drive + 256 * MiB);
    }

    [Fact]
    public void FreeSpace_MissingPath_IsAnIOException() =>
        Assert.Throws<IOException>(() => NativeFiles.FreeSpace("/nonexistent-berth-path"));
}
