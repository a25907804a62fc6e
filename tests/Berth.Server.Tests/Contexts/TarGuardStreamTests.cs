using System.Formats.Tar;
using System.Text;
using Berth.Server.Contexts;
using Berth.Server.Errors;
using Xunit.Abstractions;
using static Berth.Server.Tests.Contexts.RawTar;

namespace Berth.Server.Tests.Contexts;

/// <summary>Tar header bombs: a PAX or GNU metadata header whose payload TarReader would read whole into memory.</summary>
public sealed class TarGuardStreamTests(ITestOutputHelper output)
{
    private const long BombBytes = 400 * Mb;

    private static Task<string> PackAsync(Stream context, long maxBytes = 100 * Mb, int maxEntries = 1000) =>
        BuildContextPacker.PackAsync("FROM a:1", context, Stream.Null, maxBytes, maxEntries, 100, CancellationToken.None);

    private static async Task<RequestRejectedException> RejectAsync(Stream context, long maxBytes = 100 * Mb, int maxEntries = 1000) =>
        await Assert.ThrowsAsync<RequestRejectedException>(() => PackAsync(context, maxBytes, maxEntries));

    /// <summary>Packs, asserting it ran to the end on this thread (all streams are in memory), and returns the bytes it allocated.</summary>
    private static (RequestRejectedException? Error, long Allocated) Measure(Stream context)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var pack = PackAsync(context);
        Assert.True(pack.IsCompleted, "the pack went asynchronous: the allocation count would miss work");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var error = pack.IsFaulted ? Assert.IsType<RequestRejectedException>(pack.Exception!.InnerException) : null;
        return (error, allocated);
    }

    [Theory]
    [InlineData('L', "GNU long-name ('L')")]
    [InlineData('K', "GNU long-link ('K')")]
    [InlineData('x', "PAX extended ('x')")]
    [InlineData('g', "PAX global ('g')")]
    public void Pack_MetadataHeaderOf400MB_Is413BeforeItsDataIsRead(char type, string kind)
    {
        var bomb = Bomb(Header(type, "././@LongLink", BombBytes), BombBytes);
        var (error, allocated) = Measure(bomb);
        Assert.Equal(Rejection.TooLarge, error!.Kind);
        Assert.Contains($"{kind} tar header of {BombBytes} bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("64 KiB", error.Message, StringComparison.Ordinal);
        Assert.Contains("header bomb", error.Message, StringComparison.Ordinal);
        Assert.True(bomb.BytesRead <= 64 * 1024, $"read {bomb.BytesRead} bytes of the bomb");
        Assert.True(allocated < 2 * Mb, $"allocated {allocated} bytes");
    }

    [Theory]
    [InlineData('L')]
    [InlineData('x')]
    public void Pack_GzippedMetadataHeaderOf400MB_Is413AfterReadingLittle(char type)
    {
        var bomb = GzipBomb(Header(type, "././@LongLink", BombBytes), BombBytes / Mb);
        var (error, allocated) = Measure(bomb);
        Assert.Equal(Rejection.TooLarge, error!.Kind);
        Assert.Contains("header bomb", error.Message, StringComparison.Ordinal);
        Assert.True(bomb.BytesRead <= 128 * 1024, $"read {bomb.BytesRead} compressed bytes");
        Assert.True(allocated < 2 * Mb, $"allocated {allocated} bytes");
    }

    [Fact]
    public async Task Pack_Base256SizedLongName_Is413()
    {
        var bomb = Bomb(Header('L', "././@LongLink", Base256(BombBytes)), BombBytes);
        var e = await RejectAsync(bomb);
        Assert.Equal(Rejection.TooLarge, e.Kind);
        Assert.Contains($"tar header of {BombBytes} bytes", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1L << 40)]
    [InlineData(long.MaxValue)]
    public async Task Pack_Base256SizedFileOverTheBudget_Is413(long size)
    {
        var e = await RejectAsync(Bomb(Header('0', "big", Base256(size)), BombBytes));
        Assert.Equal(Rejection.TooLarge, e.Kind);
        Assert.Contains("Limits:MaxContextMb", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pack_Base256SizeBeyondInt64_Is413NotAnOverflow()
    {
        var field = Enumerable.Repeat((byte)0xff, 12).ToArray();
        field[0] = 0x80;
        var e = await RejectAsync(Blocks(Header('L', "././@LongLink", field)));
        Assert.Equal(Rejection.TooLarge, e.Kind);
    }

    [Fact]
    public async Task Pack_NegativeBase256Size_Is400()
    {
        var e = await RejectAsync(Blocks(Header('0', "f", Enumerable.Repeat((byte)0xff, 12).ToArray())));
        Assert.Equal(Rejection.BadRequest, e.Kind);
    }

    [Fact]
    public async Task Pack_PaxSizeOverridingTheHeader_CountsTheOverride()
    {
        var e = await RejectAsync(Blocks(Pax(("size", $"{BombBytes}")), Header('0', "f", 0)));
        Assert.Equal(Rejection.TooLarge, e.Kind);
        Assert.Contains("Limits:MaxContextMb", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pack_PaxSizeOverride_StaysInStepWithTarReader()
    {
        // TarReader takes 5 bytes of data from the PAX size; the next header must be found where it is.
        using var output = new MemoryStream();
        await BuildContextPacker.PackAsync("FROM a:1", Blocks(Pax(("size", " +5 ")), Header('0', "f", 0), Padded("hello"u8.ToArray()), File("g", "world")),
            output, 100 * Mb, 100, 100, CancellationToken.None);
        output.Position = 0;
        using var reader = new TarReader(output);
        var f = reader.GetNextEntry()!;
        Assert.Equal(("f", "hello"), (f.Name, new StreamReader(f.DataStream!).ReadToEnd()));
        Assert.Equal("g", reader.GetNextEntry()!.Name);
    }

    [Theory]
    [InlineData("99999999999999999999")]
    [InlineData("-5")]
    [InlineData("five")]
    public async Task Pack_BadPaxSize_Is400NotA500(string size)
    {
        var e = await RejectAsync(Blocks(Pax(("size", size)), Header('0', "f", 0)));
        Assert.Equal(Rejection.BadRequest, e.Kind);
    }

    [Theory]
    [InlineData("garbage\n")]
    [InlineData("12 size=5\n12 size=0\n")]
    [InlineData("12 size=5\n\0\0")]
    public async Task Pack_MalformedPaxRecords_Are400(string records)
    {
        var e = await RejectAsync(Blocks(PaxRaw(records), File("f", "hello")));
        Assert.Equal(Rejection.BadRequest, e.Kind);
        Assert.Contains("PAX", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData('L', 'L')]
    [InlineData('K', 'K')]
    [InlineData('x', 'L')]
    [InlineData('x', 'x')]
    [InlineData('x', 'g')]
    [InlineData('L', 'x')]
    [InlineData('L', 'g')]
    public async Task Pack_MetadataHeadersInAnOrderTarReadersRefuse_Are400(char first, char second)
    {
        var e = await RejectAsync(Blocks(Header(first, "m", 0), Header(second, "m", 0), File("f", "x")));
        Assert.Equal(Rejection.BadRequest, e.Kind);
    }

    [Fact]
    public async Task Pack_ThreeGnuMetadataHeaders_Are400()
    {
        var e = await RejectAsync(Blocks(Header('L', "m", 0), Header('K', "m", 0), Header('L', "m", 0), File("f", "x")));
        Assert.Equal(Rejection.BadRequest, e.Kind);
    }

    [Fact]
    public async Task Pack_ManyGlobalHeaders_CountAgainstTheEntryLimit()
    {
        var globals = Enumerable.Range(0, 50).Select(_ => PaxRaw(Record("comment", "hi"), 'g'));
        var e = await RejectAsync(Blocks([.. globals, File("f", "x")]), maxEntries: 10);
        Assert.Equal(Rejection.TooLarge, e.Kind);
        Assert.Contains("Limits:MaxContextFiles", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pack_HeadersCountAgainstTheByteBudget()
    {
        // 40 empty files: no content at all, but 40 header blocks (20 KiB) over a 16 KiB budget.
        var e = await RejectAsync(Blocks([.. Enumerable.Range(0, 40).Select(i => File($"f{i}", ""))]), maxBytes: 16 * 1024);
        Assert.Equal(Rejection.TooLarge, e.Kind);
    }

    [Fact]
    public async Task Pack_OldGnuSparseFile_Is422()
    {
        var e = await RejectAsync(Blocks(Header('S', "sparse", 5), Padded("hello"u8.ToArray())));
        Assert.Equal(Rejection.Unprocessable, e.Kind);
        Assert.Contains("sparse", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(600)]   // inside the long name's payload
    [InlineData(1800)]  // inside the entry's header
    public async Task Pack_TruncatedArchive_Is400(int keep)
    {
        var tar = Blocks(Header('L', "././@LongLink", 1000), Padded(Encoding.ASCII.GetBytes(new string('n', 1000))), File("f", "x"));
        var e = await RejectAsync(new MemoryStream(tar.ToArray()[..keep]));
        Assert.Equal(Rejection.BadRequest, e.Kind);
    }

    [Fact]
    public async Task Pack_BadChecksumField_Is400()
    {
        var header = Header('0', "f", 1);
        "zzzzzz\0 "u8.CopyTo(header.AsSpan(148));
        var e = await RejectAsync(Blocks(header, Padded([1])));
        Assert.Equal(Rejection.BadRequest, e.Kind);
    }

    [Theory]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Gnu)]
    public async Task Pack_LongNamesAndLinks_AreStillAccepted(TarEntryFormat format)
    {
        var longName = string.Join('/', Enumerable.Repeat("directory-name-that-is-long", 11)) + "/file.txt"; // 316 characters
        var linkName = longName + ".link";
        var context = Tar(format,
            format == TarEntryFormat.Pax ? new PaxTarEntry(TarEntryType.RegularFile, longName) { DataStream = new MemoryStream("hi"u8.ToArray()) } : new GnuTarEntry(TarEntryType.RegularFile, longName) { DataStream = new MemoryStream("hi"u8.ToArray()) },
            format == TarEntryFormat.Pax ? new PaxTarEntry(TarEntryType.HardLink, linkName) { LinkName = longName } : new GnuTarEntry(TarEntryType.HardLink, linkName) { LinkName = longName });
        using var output = new MemoryStream();
        await BuildContextPacker.PackAsync("FROM a:1", context, output, Mb, 100, 100, CancellationToken.None);
        output.Position = 0;
        using var reader = new TarReader(output);
        Assert.Equal(longName, reader.GetNextEntry()!.Name);
        var link = reader.GetNextEntry()!;
        Assert.Equal((linkName, longName), (link.Name, link.LinkName));
    }

    [Fact]
    public async Task Read_OneByteAtATime_FindsEveryHeader()
    {
        var legit = Tar(TarEntryFormat.Pax, new PaxTarEntry(TarEntryType.RegularFile, new string('a', 150)) { DataStream = new MemoryStream(new byte[1000]) }).ToArray();
        var guard = new TarGuardStream(new TrickleStream(legit), Mb, 10);
        var copy = new MemoryStream();
        await guard.CopyToAsync(copy);
        Assert.Equal(legit.Length - 512, copy.Length); // .NET's writer ends with two zero blocks: the guard stops after the first

        var bomb = new TarGuardStream(new TrickleStream(Header('L', "x", BombBytes)), Mb, 10);
        var e = await Assert.ThrowsAsync<RequestRejectedException>(() => bomb.CopyToAsync(Stream.Null));
        Assert.Equal(Rejection.TooLarge, e.Kind);
    }

    [Fact]
    public async Task Read_AfterTheEndOfArchive_PassesNothing()
    {
        var guard = new TarGuardStream(Blocks(File("f", "x"), new byte[512], Header('L', "x", BombBytes)), Mb, 10);
        var copy = new MemoryStream();
        await guard.CopyToAsync(copy);
        Assert.Equal(3 * 512, copy.Length);
        Assert.Equal(1, guard.Entries);
    }

    [Fact]
    public void Pack_LegitContextVersusHeaderBomb_AllocationFigures()
    {
        var content = new byte[Mb];
        new Random(3).NextBytes(content);
        var legit = Tar(TarEntryFormat.Pax, new PaxTarEntry(TarEntryType.RegularFile, "data.bin") { DataStream = new MemoryStream(content) });
        var (ok, legitAllocated) = Measure(legit);
        var (error, bombAllocated) = Measure(GzipBomb(Header('L', "././@LongLink", BombBytes), BombBytes / Mb));
        output.WriteLine($"legit 1 MiB context: {legitAllocated} bytes allocated; gzipped 400 MB 'L' bomb: {bombAllocated} bytes allocated");
        Assert.Null(ok);
        Assert.Equal(Rejection.TooLarge, error!.Kind);
        Assert.True(bombAllocated < legitAllocated + Mb, $"bomb {bombAllocated} vs legit {legitAllocated}");
    }

    /// <summary>Hands out one byte per read.</summary>
    private sealed class TrickleStream(byte[] data) : Berth.Scanner.Layers.ReadOnlyStream
    {
        private int _at;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_at >= data.Length || buffer.IsEmpty)
            {
                return ValueTask.FromResult(0);
            }
            buffer.Span[0] = data[_at++];
            return ValueTask.FromResult(1);
        }
    }
}
