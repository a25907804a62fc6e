using System.Text;
using Berth.Scanner.Layers;

namespace Berth.Scanner.Tests.Layers;

/// <summary>
/// What a layer keeps, refuses and hides, driven through <see cref="SavedImageReader"/> on hand-made saved images
/// (the collector is the one place those rules live; both layer readers feed it).
/// </summary>
public sealed class LayerCollectorTests
{
    private const string Status = "var/lib/dpkg/status";
    private const string StatusText = "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.11.dfsg-2\n";
    private const string Metadata = "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA";

    private static readonly ScanLimits Small = new(MaxDatabaseBytes: 1000, MaxMetadataBytes: 100, MaxTotalBytes: 5000, MaxEntries: 1000);

    private static async Task<IReadOnlyList<LayerIndex>> ReadAsync(ScanLimits limits, params TarLayer[] layers) =>
        await SavedImageReader.ReadLayersAsync(SavedImage.Of(layers), new ScanBudget(limits), CancellationToken.None);

    private static async Task<MergedImage> MergeAsync(ScanLimits limits, params TarLayer[] layers) => LayerMerger.Merge(await ReadAsync(limits, layers));

    private static TarLayer Lower() => new TarLayer().File("etc/os-release", "ID=debian\nVERSION_ID=11\n").File(Status, StatusText).File("usr/bin/dpkg", "ELF");

    [Theory]
    [InlineData("symlink", "a symbolic link")]
    [InlineData("hard link", "a hard link")]
    [InlineData("directory", "a directory")]
    [InlineData("fifo", "not a regular file")]
    [InlineData("char device", "not a regular file")]
    [InlineData("too large", "larger than the 1000 bytes a package file may have (Scan:MaxFileMb)")]
    public async Task ReadLayers_DatabaseInAnUnreadableForm_IsUnreadableAndHidesTheLowerFile(string form, string reason)
    {
        var upper = form switch
        {
            "symlink" => new TarLayer().Symlink(Status, "/etc/shadow"),
            "hard link" => new TarLayer().File("var/lib/dpkg/status-old", StatusText).HardLink(Status, "var/lib/dpkg/status-old"),
            "directory" => new TarLayer().Directory(Status),
            "fifo" => new TarLayer().Fifo(Status),
            "char device" => new TarLayer().CharDevice(Status, 1, 3),
            _ => new TarLayer().File(Status, new string('x', 1001)),
        };

        var image = await MergeAsync(Small, Lower(), upper);

        var unreadable = Assert.Single(image.Unreadable);
        Assert.Equal((Status, reason), (unreadable.Path, unreadable.Reason));
        Assert.Equal(TarLayer.DiffId(upper.Tar()), unreadable.Layer);
        Assert.True(image.Files.Get(Status) is null, $"the lower layer's status shows through a {form}");
        Assert.NotNull(image.Files.Get("etc/os-release"));
    }

    [Fact]
    public async Task ReadLayers_DatabaseExactlyAtTheCap_IsRead()
    {
        var content = "Package: a\nStatus: install ok installed\nVersion: 1\n".PadRight(1000, '\n');

        var image = await MergeAsync(Small, new TarLayer().File(Status, content));

        Assert.Empty(image.Unreadable);
        Assert.Equal(content, Encoding.UTF8.GetString(image.Files.Get(Status)!.Content));
    }

    [Fact]
    public async Task ReadLayers_LaterLayerWithAReadableFile_ClearsTheUnreadableOne()
    {
        var image = await MergeAsync(Small, new TarLayer().Symlink(Status, "/etc/shadow"), new TarLayer().File(Status, StatusText));

        Assert.Empty(image.Unreadable);
        Assert.Equal(StatusText, Encoding.UTF8.GetString(image.Files.Get(Status)!.Content));
    }

    [Fact]
    public async Task ReadLayers_SameLayerRewritesALinkAsAFile_LastEntryWins()
    {
        var layers = await ReadAsync(Small, new TarLayer().Symlink(Status, "/etc/shadow").File(Status, StatusText));

        var layer = Assert.Single(layers);
        Assert.Empty(layer.Unreadable);
        Assert.True(layer.Files.ContainsKey(Status));
    }

    [Fact]
    public async Task ReadLayers_WhiteoutOfAnUnreadablePath_ClearsIt()
    {
        var image = await MergeAsync(Small, new TarLayer().Symlink(Status, "/etc/shadow"), new TarLayer().Whiteout(Status));

        Assert.Empty(image.Unreadable);
        Assert.Null(image.Files.Get(Status));
    }

    [Fact]
    public async Task ReadLayers_OpaqueDirectoryOverAnUnreadablePath_ClearsIt()
    {
        var image = await MergeAsync(Small, new TarLayer().Symlink(Status, "/etc/shadow"), new TarLayer().Opaque("var/lib/dpkg"));

        Assert.Empty(image.Unreadable);
    }

    [Fact]
    public async Task ReadLayers_OsReleaseAsASymlink_HidesTheLowerOneWithoutAProblem()
    {
        var image = await MergeAsync(Small,
            new TarLayer().File("etc/os-release", "ID=alpine\nVERSION_ID=3.11.6\n"),
            new TarLayer().Symlink("etc/os-release", "../usr/lib/os-release").File("usr/lib/os-release", "ID=debian\nVERSION_ID=11\n"));

        Assert.Empty(image.Unreadable);
        Assert.Null(image.Files.Get("etc/os-release"));
        Assert.Equal("debian", Berth.Scanner.Catalogers.Os.DistroReader.Read(image.Files)!.Id);
    }

    [Fact]
    public async Task ReadLayers_OsReleaseOver64KiB_IsIgnoredLikeAMissingFile()
    {
        var image = await MergeAsync(ScanLimits.Default,
            new TarLayer().File("etc/os-release", "ID=debian\nVERSION_ID=11\n"),
            new TarLayer().File("etc/os-release", "ID=alpine\n" + new string('#', 64 * 1024)));

        Assert.Empty(image.Unreadable);
        Assert.Null(image.Files.Get("etc/os-release"));
    }

    [Fact]
    public async Task ReadLayers_TotalBudgetSpent_RefusesFurtherFilesWithTheTotalReason()
    {
        var limits = Small with { MaxTotalBytes = 150 };
        var first = "Name: six\nVersion: 1.16.0\n".PadRight(90);
        var second = "Name: idna\nVersion: 3.4\n".PadRight(90);

        var image = await MergeAsync(limits, new TarLayer()
            .File(Metadata, first)
            .File("usr/lib/python3/dist-packages/idna-3.4.dist-info/METADATA", second));

        Assert.Equal(first, Encoding.UTF8.GetString(image.Files.Get(Metadata)!.Content));
        var refused = Assert.Single(image.Unreadable);
        Assert.Equal("usr/lib/python3/dist-packages/idna-3.4.dist-info/METADATA", refused.Path);
        Assert.Equal("over the 150 bytes a scan reads in all (Scan:MaxTotalMb)", refused.Reason);
    }

    [Fact]
    public async Task ReadLayers_TotalBudget_IsSharedAcrossLayers()
    {
        var limits = Small with { MaxTotalBytes = 1024 * 1024 };
        var big = new string('x', 700 * 1024);
        var budget = new ScanBudget(limits with { MaxDatabaseBytes = 1024 * 1024 });

        var layers = await SavedImageReader.ReadLayersAsync(
            SavedImage.Of(new TarLayer().File(Status, big), new TarLayer().File("lib/apk/db/installed", big)), budget, CancellationToken.None);

        var image = LayerMerger.Merge(layers);
        Assert.Equal(700 * 1024, budget.Bytes);
        Assert.Equal("lib/apk/db/installed", Assert.Single(image.Unreadable).Path);
        Assert.Contains("(Scan:MaxTotalMb)", image.Unreadable[0].Reason, StringComparison.Ordinal);
        Assert.Contains("1 MiB", image.Unreadable[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadLayers_MoreEntriesThanTheLimit_ThrowsBudgetExceeded()
    {
        var layer = new TarLayer();
        for (var i = 0; i < 11; i++)
        {
            layer.File($"usr/share/doc/file{i}", "x");
        }

        var e = await Assert.ThrowsAsync<ScanBudgetExceededException>(() => ReadAsync(Small with { MaxEntries = 10 }, layer));

        Assert.Contains("more than 10 files and directories (Scan:MaxEntries)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadLayers_EntriesAtTheLimit_AreRead()
    {
        var layer = new TarLayer();
        for (var i = 0; i < 10; i++)
        {
            layer.File($"usr/share/doc/file{i}", "x");
        }

        var index = Assert.Single(await ReadAsync(Small with { MaxEntries = 10 }, layer));

        Assert.Equal(10, index.Entries);
    }

    [Fact]
    public async Task ReadLayers_LargeRecord_KeepsAWholeLinesPrefixOfAtMost64KiB()
    {
        const string path = "usr/lib/python3/site-packages/big-1.0.dist-info/RECORD";
        var record = new StringBuilder();
        for (var i = 0; record.Length < 200 * 1024; i++)
        {
            record.Append($"big/module_{i}.py,sha256=abcdefghijklmnopqrstuvwxyz{i},{i * 7}\n");
        }

        var image = await MergeAsync(ScanLimits.Default, new TarLayer().File(path, record.ToString()));

        var kept = Encoding.UTF8.GetString(image.Files.Get(path)!.Content);
        Assert.True(kept.Length <= 64 * 1024, $"{kept.Length} bytes kept");
        Assert.True(kept.Length > 60 * 1024, $"{kept.Length} bytes kept");
        Assert.EndsWith("\n", kept, StringComparison.Ordinal);
        Assert.StartsWith(kept, record.ToString(), StringComparison.Ordinal);
        Assert.Empty(image.Unreadable);
    }

    [Fact]
    public async Task ReadLayers_SmallRecord_IsKeptWhole()
    {
        const string path = "usr/lib/python3/site-packages/small-1.0.dist-info/RECORD";
        const string record = "small/__init__.py,,\nsmall-1.0.dist-info/RECORD,,"; // no final newline

        var image = await MergeAsync(ScanLimits.Default, new TarLayer().File(path, record));

        Assert.Equal(record, Encoding.UTF8.GetString(image.Files.Get(path)!.Content));
    }

    [Fact]
    public async Task ReadLayers_Lockfile_IsCappedByTheDatabaseLimitNotTheMetadataLimit()
    {
        var lockfile = "{\"lockfileVersion\":3,\"packages\":{}}".PadRight(500);
        var packageJson = "{\"name\":\"left-pad\",\"version\":\"1.3.0\"}".PadRight(500);

        var image = await MergeAsync(Small, new TarLayer()
            .File("srv/app/package-lock.json", lockfile)
            .File("srv/other/npm-shrinkwrap.json", lockfile)
            .File("srv/app/node_modules/left-pad/package.json", packageJson));

        Assert.NotNull(image.Files.Get("srv/app/package-lock.json"));
        Assert.NotNull(image.Files.Get("srv/other/npm-shrinkwrap.json"));
        var refused = Assert.Single(image.Unreadable);
        Assert.Equal("srv/app/node_modules/left-pad/package.json", refused.Path);
        Assert.Equal("larger than the 100 bytes a package file may have (Scan:MaxFileMb)", refused.Reason);
    }

    [Fact]
    public async Task ReadLayers_LockfileOverTheDatabaseLimit_IsUnreadable()
    {
        var image = await MergeAsync(Small, new TarLayer().File("srv/app/package-lock.json", new string(' ', 1001)));

        Assert.Equal("srv/app/package-lock.json", Assert.Single(image.Unreadable).Path);
    }

    [Fact]
    public async Task ReadLayers_PackageManagerPrograms_AreRecordedInAnyForm()
    {
        var layers = await ReadAsync(Small, new TarLayer()
            .File("usr/bin/dpkg", "ELF")
            .Symlink("sbin/apk", "/bin/busybox")
            .File("usr/bin/dpkg-query", "ELF")
            .File("usr/local/bin/dpkg", "ELF"));

        Assert.Equal(["sbin/apk", "usr/bin/dpkg"], Assert.Single(layers).Managers.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ReadLayers_ManagerPathAsADirectory_IsNotAManager()
    {
        var layers = await ReadAsync(Small, new TarLayer().Directory("usr/bin/dpkg"));

        Assert.Empty(Assert.Single(layers).Managers);
    }

    [Fact]
    public async Task ReadLayers_EggInfoDirectory_IsNotAProblem()
    {
        // setuptools and Debian's python3-* packages install "name.egg-info" as a directory holding PKG-INFO.
        const string dir = "usr/lib/python3/dist-packages/six-1.16.0.egg-info";
        var image = await MergeAsync(Small, new TarLayer()
            .Directory(dir)
            .File($"{dir}/PKG-INFO", "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n"));

        Assert.Empty(image.Unreadable);
        Assert.NotNull(image.Files.Get($"{dir}/PKG-INFO"));
    }

    [Fact]
    public async Task ReadLayers_UnwantedFiles_AreNotKeptAndCostNoBudget()
    {
        var budget = new ScanBudget(Small);
        var layers = await SavedImageReader.ReadLayersAsync(
            SavedImage.Of(new TarLayer().File("usr/bin/bash", new string('x', 4000)).Symlink("etc/passwd", "/x")), budget, CancellationToken.None);

        var index = Assert.Single(layers);
        Assert.Empty(index.Files);
        Assert.Empty(index.Unreadable);
        Assert.Equal(0, budget.Bytes);
        Assert.Equal(2, budget.Entries);
    }
}
