using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Berth.Server.Contexts;
using Berth.Server.Errors;

namespace Berth.Server.Tests.Contexts;

public sealed class BuildContextPackerTests
{
    private const long Mb = 1024 * 1024;

    private static MemoryStream Tar(params TarEntry[] entries) => RawTar.Of(entries);

    private static PaxTarEntry File(string name, string content = "x") =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };

    private static PaxTarEntry Link(TarEntryType type, string name, string target) => new(type, name) { LinkName = target };

    private static async Task<Dictionary<string, string>> PackAsync(string? dockerfile, Stream? context)
    {
        using var output = new MemoryStream();
        await BuildContextPacker.PackAsync(dockerfile, context, output, Mb, 100, 100, CancellationToken.None);
        output.Position = 0;
        var result = new Dictionary<string, string>();
        using var reader = new TarReader(output);
        while (reader.GetNextEntry() is { } entry)
        {
            result[entry.Name] = entry.DataStream is null ? entry.LinkName : new StreamReader(entry.DataStream).ReadToEnd();
        }
        return result;
    }

    private static async Task<RequestRejectedException> RejectAsync(Stream context, long maxBytes = Mb, int maxEntries = 100) =>
        await Assert.ThrowsAsync<RequestRejectedException>(() =>
            BuildContextPacker.PackAsync("FROM a:1", context, Stream.Null, maxBytes, maxEntries, 100, CancellationToken.None));

    [Fact]
    public async Task Pack_NoContext_WritesOnlyTheDockerfile()
    {
        var entries = await PackAsync("FROM a:1\n", null);
        Assert.Equal("FROM a:1\n", Assert.Single(entries).Value);
    }

    [Fact]
    public async Task Pack_ContextWithDockerfile_TheGivenDockerfileWins()
    {
        var entries = await PackAsync("FROM given:1", Tar(File("./Dockerfile", "FROM inside:1"), File("./app/run.sh", "echo")));
        Assert.Equal("FROM given:1", entries["Dockerfile"]);
        Assert.Equal("echo", entries["app/run.sh"]);
    }

    [Fact]
    public async Task Pack_NoDockerfileGiven_UsesTheContextsOwn()
    {
        var entries = await PackAsync(null, Tar(File("Dockerfile", "FROM inside:1")));
        Assert.Equal("FROM inside:1", entries["Dockerfile"]);
    }

    [Fact]
    public async Task Pack_GzippedContext_IsRead()
    {
        var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            await Tar(File("data.txt", "hello")).CopyToAsync(zip);
        }
        gz.Position = 0;
        var entries = await PackAsync("FROM a:1", gz);
        Assert.Equal("hello", entries["data.txt"]);
    }

    [Fact]
    public async Task Pack_LinksInsideTheContext_AreKept()
    {
        var entries = await PackAsync("FROM a:1", Tar(File("a/b.txt"), Link(TarEntryType.SymbolicLink, "a/c", "../a/b.txt"), Link(TarEntryType.HardLink, "d", "a/b.txt")));
        Assert.Equal("../a/b.txt", entries["a/c"]);
        Assert.Equal("a/b.txt", entries["d"]);
    }

    [Theory]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("../escape.txt", "contains '..'")]
    [InlineData("a/../../escape.txt", "contains '..'")]
    public async Task Pack_BadEntryNames_Are422(string name, string message)
    {
        var e = await RejectAsync(Tar(File(name)));
        Assert.Equal(Rejection.Unprocessable, e.Kind);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TarEntryType.SymbolicLink, "/etc/shadow")]
    [InlineData(TarEntryType.SymbolicLink, "../../etc/shadow")]
    [InlineData(TarEntryType.SymbolicLink, "a/../../x")]
    [InlineData(TarEntryType.HardLink, "/etc/shadow")]
    [InlineData(TarEntryType.HardLink, "../x")]
    public async Task Pack_LinksOutOfTheContext_Are422(TarEntryType type, string target)
    {
        var e = await RejectAsync(Tar(Link(type, "link", target)));
        Assert.Equal(Rejection.Unprocessable, e.Kind);
        Assert.Contains("outside the context", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TarEntryType.CharacterDevice)]
    [InlineData(TarEntryType.BlockDevice)]
    [InlineData(TarEntryType.Fifo)]
    public async Task Pack_SpecialFiles_Are422(TarEntryType type)
    {
        var e = await RejectAsync(Tar(new PaxTarEntry(type, "dev")));
        Assert.Equal(Rejection.Unprocessable, e.Kind);
    }

    [Fact]
    public async Task Pack_OverTheSizeLimit_Is413()
    {
        var e = await RejectAsync(Tar(File("big", new string('x', 2048))), maxBytes: 1024);
        Assert.Equal(Rejection.TooLarge, e.Kind);
    }

    [Fact]
    public async Task Pack_DecompressionBomb_Is413()
    {
        var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            await Tar(File("zeros", new string('\0', 4 * 1024 * 1024))).CopyToAsync(zip);
        }
        gz.Position = 0;
        var e = await Assert.ThrowsAsync<RequestRejectedException>(() =>
            BuildContextPacker.PackAsync("FROM a:1", gz, Stream.Null, 64 * Mb, 100, 100, CancellationToken.None));
        Assert.Equal(Rejection.TooLarge, e.Kind);
        Assert.Contains("decompression bomb", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pack_OverTheEntryLimit_Is413()
    {
        var e = await RejectAsync(Tar(Enumerable.Range(0, 5).Select(i => (TarEntry)File($"f{i}")).ToArray()), maxEntries: 3);
        Assert.Equal(Rejection.TooLarge, e.Kind);
    }

    [Theory]
    [InlineData(new byte[] { 0x1f, 0x8b, 1, 2, 3 })]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 })]
    [InlineData(new byte[] { })]
    public async Task Pack_Garbage_Is400(byte[] bytes)
    {
        var e = await RejectAsync(new MemoryStream(bytes));
        Assert.Equal(Rejection.BadRequest, e.Kind);
    }

    [Fact]
    public async Task Pack_RandomBytes_AreAlwaysRejectedCleanly()
    {
        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(1, 4096)];
            random.NextBytes(bytes);
            var e = await RejectAsync(new MemoryStream(bytes));
            Assert.Contains(e.Kind, new[] { Rejection.BadRequest, Rejection.TooLarge, Rejection.Unprocessable });
        }
    }

    [Theory]
    [InlineData(TarEntryType.HardLink, "big")]
    [InlineData(TarEntryType.SymbolicLink, "big")]
    [InlineData(TarEntryType.SymbolicLink, "l0")] // a chain of links still stands for the file
    public async Task Pack_ManyLinksToOneBigFile_Is413(TarEntryType type, string target)
    {
        // 100 links to a 64 KiB file stand for 6.4 MiB: COPY l* would write every one in full.
        var entries = new List<TarEntry> { File("big", new string('x', 64 * 1024)) };
        entries.AddRange(Enumerable.Range(0, 100).Select(i => (TarEntry)Link(type, $"l{i}", i == 0 ? "big" : target)));

        var e = await RejectAsync(Tar([.. entries]), maxBytes: Mb, maxEntries: 1000);

        Assert.Equal(Rejection.TooLarge, e.Kind);
        Assert.Contains("links stand for more than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pack_AFewLinksWithinTheBudget_AreAccepted()
    {
        var entries = await PackAsync("FROM a:1", Tar(File("big", new string('x', 64 * 1024)), Link(TarEntryType.HardLink, "l1", "big"), Link(TarEntryType.SymbolicLink, "l2", "big"), Link(TarEntryType.SymbolicLink, "dir", ".")));

        Assert.Contains("l1", entries.Keys);
    }
}
