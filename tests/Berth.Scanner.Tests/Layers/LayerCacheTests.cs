using System.Text;
using Berth.Scanner.Layers;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Scanner.Tests.Layers;

public sealed class LayerCacheTests : IDisposable
{
    private readonly TempFolder _temp = new("berth-cache-");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => _temp.Dispose();

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    private string Root => _temp["cache"];

    private string FileOf(string digest) => Path.Combine(Root, $"v{LayerIndex.FormatVersion}", digest[7..] + ".json");

    private LayerCache Cache(long maxBytes = 64 * 1024 * 1024) => new(Root, maxBytes, _time);

    private static LayerIndex Index(string digest, int fileBytes = 16)
    {
        var index = new LayerIndex { Layer = digest, Entries = 42 };
        index.Files["var/lib/dpkg/status"] = Encoding.UTF8.GetBytes(new string('s', fileBytes));
        index.Unreadable["lib/apk/db/installed"] = "a symbolic link";
        index.Deleted.Add("srv/app");
        index.Opaque.Add("opt");
        index.Managers.Add("usr/bin/dpkg");
        return index;
    }

    [Fact]
    public void PutThenTryGet_SameDiffId_GivesTheIndexBack()
    {
        var cache = Cache();
        cache.Put(Index(Digest('a')));

        var read = cache.TryGet(Digest('a'));

        Assert.NotNull(read);
        Assert.Equal(Digest('a'), read.Layer);
        Assert.Equal(new string('s', 16), Encoding.UTF8.GetString(read.Files["var/lib/dpkg/status"]));
        Assert.Equal("a symbolic link", read.Unreadable["lib/apk/db/installed"]);
        Assert.Equal(["srv/app"], read.Deleted);
        Assert.Equal(["opt"], read.Opaque);
        Assert.Equal(["usr/bin/dpkg"], read.Managers);
        Assert.Equal(42, read.Entries);
        Assert.Null(cache.TryGet(Digest('b')));
        Assert.Equal((1, 1), (cache.Hits, cache.Misses));
    }

    [Fact]
    public void TryGet_AnotherCacheOnTheSameFolder_SeesWhatWasPut()
    {
        Cache().Put(Index(Digest('a')));

        Assert.NotNull(Cache().TryGet(Digest('a')));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("../../../../tmp/evil")]
    [InlineData("sha256:ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCD")]
    [InlineData("sha256:abc")]
    [InlineData("sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("sha256:../aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("000/layer.tar")]
    [InlineData("")]
    public void PutAndTryGet_NotAContentDigest_NeverTouchTheDisk(string name)
    {
        var cache = Cache();

        cache.Put(Index(name));
        var read = cache.TryGet(name);

        Assert.Null(read);
        Assert.False(Directory.Exists(Root), "the cache folder was created");
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path, "*", SearchOption.AllDirectories));
        Assert.Equal((0, 0), (cache.Hits, cache.Misses));
    }

    [Fact]
    public void TryGet_UppercaseVersionOfAStoredDigest_IsNotFound()
    {
        var cache = Cache();
        cache.Put(Index(Digest('a')));

        Assert.Null(cache.TryGet("sha256:" + new string('A', 64)));
    }

    [Theory]
    [InlineData("torn")]
    [InlineData("garbage")]
    [InlineData("empty")]
    [InlineData("json null")]
    public void TryGet_DamagedFile_IsAMiss(string damage)
    {
        var cache = Cache();
        cache.Put(Index(Digest('a')));
        var path = FileOf(Digest('a'));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage switch
        {
            "torn" => bytes[..(bytes.Length / 2)],
            "garbage" => [0xff, 0x00, 0x13, 0x37],
            "empty" => [],
            _ => "null"u8.ToArray(),
        });

        Assert.Null(cache.TryGet(Digest('a')));
        Assert.Equal((0, 1), (cache.Hits, cache.Misses));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(LayerIndex.FormatVersion + 1)]
    public void TryGet_EntryOfAnotherFormat_IsIgnored(int format)
    {
        var cache = Cache();
        var index = Index(Digest('a'));
        index.Format = format;
        cache.Put(index);

        Assert.True(File.Exists(FileOf(Digest('a'))));
        Assert.Null(cache.TryGet(Digest('a')));
        Assert.Equal(1, cache.Misses);
    }

    [Fact]
    public void TryGet_FileNamedForAnotherLayer_IsIgnored()
    {
        var cache = Cache();
        cache.Put(Index(Digest('a')));
        Directory.CreateDirectory(Path.GetDirectoryName(FileOf(Digest('b')))!);
        File.Copy(FileOf(Digest('a')), FileOf(Digest('b')));

        Assert.Null(cache.TryGet(Digest('b')));
        Assert.NotNull(cache.TryGet(Digest('a')));
    }

    [Fact]
    public void Put_IndexLargerThanAQuarterOfTheCap_IsNotKept()
    {
        var cache = Cache(maxBytes: 4000);

        cache.Put(Index(Digest('a'), fileBytes: 1000)); // Size 1000 + 3 * 64 > 4000 / 4

        Assert.False(File.Exists(FileOf(Digest('a'))));
    }

    [Fact]
    public void Put_OverTheCap_RemovesTheLeastRecentlyUsedFirst()
    {
        // Every entry serialises to the same length; the cap holds three and a half of them.
        var probe = new LayerCache(_temp["probe"], long.MaxValue, _time);
        probe.Put(Index(Digest('0'), fileBytes: 1000));
        var length = new FileInfo(Path.Combine(_temp["probe"], $"v{LayerIndex.FormatVersion}", new string('0', 64) + ".json")).Length;
        var cache = Cache(maxBytes: length * 7 / 2);

        cache.Put(Index(Digest('a'), 1000));
        _time.Advance(TimeSpan.FromMinutes(1));
        cache.Put(Index(Digest('b'), 1000));
        _time.Advance(TimeSpan.FromMinutes(1));
        cache.Put(Index(Digest('c'), 1000));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.NotNull(cache.TryGet(Digest('a'))); // a is now the most recently used
        _time.Advance(TimeSpan.FromMinutes(1));
        cache.Put(Index(Digest('d'), 1000));

        Assert.False(File.Exists(FileOf(Digest('b'))), "b, the least recently used, was kept");
        Assert.True(File.Exists(FileOf(Digest('a'))), "a was used recently but removed");
        Assert.True(File.Exists(FileOf(Digest('c'))));
        Assert.True(File.Exists(FileOf(Digest('d'))), "the entry just put was removed");

        _time.Advance(TimeSpan.FromMinutes(1));
        cache.Put(Index(Digest('e'), 1000));

        Assert.Equal(["a", "d", "e"], Directory.GetFiles(Path.GetDirectoryName(FileOf(Digest('a')))!)
            .Select(f => Path.GetFileName(f)[..1]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Put_LeavesNoTemporaryFiles()
    {
        var cache = Cache();
        cache.Put(Index(Digest('a')));
        cache.Put(Index(Digest('a')));

        Assert.Equal([FileOf(Digest('a'))], Directory.GetFiles(Path.GetDirectoryName(FileOf(Digest('a')))!));
    }
}
