using Berth.Server.Pipeline;

namespace Berth.Server.Tests.Pipeline;

public sealed class BuildDiskWatchTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-diskwatch-").FullName;

    [Fact]
    public void DirectorySize_EmptyFilesAndDirectories_EachCountAtLeastABlock()
    {
        for (var i = 0; i < 10; i++)
        {
            Directory.CreateDirectory(Path.Combine(_root, $"d{i}"));
            File.WriteAllBytes(Path.Combine(_root, $"d{i}", "empty"), []);
        }

        Assert.Equal(20 * 4096, BuildDiskWatch.DirectorySize(_root)); // 6 million mkdirs are not "0 bytes"
    }

    [Fact]
    public void DirectorySize_SparseFile_CountsItsFullLength_AndSymlinksAreNotFollowed()
    {
        using (var sparse = File.Create(Path.Combine(_root, "sparse")))
        {
            sparse.SetLength(1L << 30); // the scan would read 1 GiB of zeros
        }
        Directory.CreateSymbolicLink(Path.Combine(_root, "host"), "/"); // a layer's link to the host's root
        Directory.CreateSymbolicLink(Path.Combine(_root, "loop"), ".");
        File.CreateSymbolicLink(Path.Combine(_root, "big"), Path.Combine(_root, "sparse"));

        Assert.Equal((1L << 30) + 3 * 4096, BuildDiskWatch.DirectorySize(_root)); // each link is one block
    }

    [Fact]
    public void Backstop_EngineFilesystemLostMoreThanTwiceTheCap_NamesTheLimit()
    {
        const long cap = 64L * 1024 * 1024;
        var (free, inodes, _) = NativeFiles.FreeSpace(_root);

        Assert.Null(BuildDiskWatch.Backstop(new BuildDiskWatch.Mark(_root, free, inodes), cap));
        Assert.Contains("Build:MaxImageMb", BuildDiskWatch.Backstop(new BuildDiskWatch.Mark(_root, free + 3 * (ulong)cap, inodes), cap));
        Assert.Contains("files", BuildDiskWatch.Backstop(new BuildDiskWatch.Mark(_root, free, inodes + BuildDiskWatch.MaxNewFiles + 1000), cap));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
