using System.Text;
using Berth.Scanner.Catalogers.Go;
using static Berth.Scanner.Tests.Catalogers.Go.GoTestFiles;

namespace Berth.Scanner.Tests.Catalogers.Go;

/// <summary>
/// The reader on files made by hand: every ELF kind, both header formats, both ways of reading, and
/// files that lie. None of these needs <c>go</c>.
/// </summary>
public sealed class GoBuildInfoReaderHostileTests
{
    private static readonly byte[] Version = "go1.16.15"u8.ToArray();
    private static readonly byte[] ModInfo = Frame("path\texample.com/tool\nmod\texample.com/tool\tv1.2.3\th1:x=\ndep\tgolang.org/x/text\tv0.3.5\th1:y=\n");

    /// <summary>Allocation allowed for one read: buffers and the module information (at most 1 MiB, twice as UTF-16), with room to spare.</summary>
    private const long MaxAllocatedBytes = 6 * 1024 * 1024;

    public static TheoryData<bool, bool> ElfKinds => new() { { true, false }, { true, true }, { false, false }, { false, true } };

    [Theory]
    [InlineData(new byte[] { 0x7f, 0x45, 0x4c, 0x46 }, true)]
    [InlineData(new byte[] { 0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0 }, true)]
    [InlineData(new byte[] { 0x7f, 0x45, 0x4c }, false)]
    [InlineData(new byte[] { 0x23, 0x21, 0x2f, 0x62, 0x69, 0x6e }, false)]
    [InlineData(new byte[0], false)]
    public void IsElf_Head_TellsElfMagic(byte[] head, bool expected) => Assert.Equal(expected, GoBuildInfoReader.IsElf(head));

    [Theory]
    [InlineData("")]
    [InlineData("#!/bin/sh\necho hi\n")]
    [InlineData("\x7f" + "EL")]
    [InlineData("\x7f" + "ELF")] // the magic, then no valid class or byte order
    public void TryRead_NotAnElfFile_ReturnsNull(string text)
    {
        // Even with a valid build-information blob after the first bytes.
        var head = new byte[64];
        Encoding.Latin1.GetBytes(text).CopyTo(head, 0);
        byte[] bytes = [.. head, .. InlineBlob(Version, ModInfo)];

        Assert.Null(ReadSeekable(bytes));
        Assert.Null(ReadForward(bytes));
        Assert.Null(ReadSeekable(Encoding.Latin1.GetBytes(text)));
        Assert.Null(ReadForward(Encoding.Latin1.GetBytes(text)));
    }

    [Fact]
    public void TryRead_OrdinaryElfExecutable_ReturnsNullReadingOnlyItsHeaders()
    {
        var path = File.Exists("/usr/bin/true") ? "/usr/bin/true" : "/bin/true";
        var bytes = File.ReadAllBytes(path);
        Assert.True(GoBuildInfoReader.IsElf(bytes));

        using var counting = new CountingStream(new MemoryStream(bytes));
        Assert.Null(GoBuildInfoReader.TryRead(counting, CancellationToken.None));
        Assert.True(counting.BytesRead < 8 * 1024, $"read {counting.BytesRead} of {bytes.Length} bytes");
        Assert.Null(ReadForward(bytes));
    }

    [Theory]
    [MemberData(nameof(ElfKinds))]
    public void TryRead_InlineFormat_EveryElfKindBothWays(bool is64, bool bigEndian)
    {
        var file = SyntheticElf.Build(is64, bigEndian, InlineBlob(Version, ModInfo, is64 ? 8 : 4, (byte)(bigEndian ? 3 : 2)));

        foreach (var info in new[] { ReadSeekable(file), ReadForward(file), ReadForward(file, maxRead: 7) })
        {
            Assert.NotNull(info);
            Assert.Equal("go1.16.15", info.GoVersion);
            Assert.Equal("example.com/tool", info.Path);
            Assert.Equal(new GoModule("example.com/tool", "v1.2.3", null), info.Main);
            Assert.Equal([new GoModule("golang.org/x/text", "v0.3.5", null)], info.Deps);
        }
    }

    [Theory]
    [MemberData(nameof(ElfKinds))]
    public void TryRead_PointerFormat_ReadFromFilesNotFromForwardStreams(bool is64, bool bigEndian)
    {
        var file = SyntheticElf.Build(is64, bigEndian, PointerBlob(is64, bigEndian, Version, ModInfo));

        var info = ReadSeekable(file);
        Assert.NotNull(info);
        Assert.Equal("go1.16.15", info.GoVersion);
        Assert.Equal([new GoModule("golang.org/x/text", "v0.3.5", null)], info.Deps);
        Assert.Null(ReadForward(file)); // its strings lie behind the header: not readable going forward
    }

    [Theory]
    [MemberData(nameof(ElfKinds))]
    public void TryRead_NoSectionHeaders_FallsBackToTheDataSegment(bool is64, bool bigEndian)
    {
        var inline = SyntheticElf.Build(is64, bigEndian, InlineBlob(Version, ModInfo), sectionName: null);
        var pointer = SyntheticElf.Build(is64, bigEndian, PointerBlob(is64, bigEndian, Version, ModInfo), sectionName: null);

        Assert.Equal("go1.16.15", ReadSeekable(inline)?.GoVersion);
        Assert.Equal("go1.16.15", ReadSeekable(pointer)?.GoVersion);
    }

    [Fact]
    public void TryRead_SectionTableWithoutBuildInfo_ReturnsNullFromAFile()
    {
        var file = SyntheticElf.Build(true, false, InlineBlob(Version, ModInfo), sectionName: ".data");

        Assert.Null(ReadSeekable(file)); // as Go's reader: the section table says it is not a Go binary
        Assert.NotNull(ReadForward(file)); // a forward stream cannot see the table, and finds the header
    }

    [Fact]
    public void TryRead_NoModuleInformation_GivesTheVersionAlone()
    {
        var info = ReadSeekable(SyntheticElf.Build(true, false, InlineBlob("go1.18"u8.ToArray(), [])));

        Assert.NotNull(info);
        Assert.Equal("go1.18", info.GoVersion);
        Assert.Null(info.Path);
        Assert.Null(info.Main);
        Assert.Empty(info.Deps);
    }

    public static TheoryData<string, byte[]> LyingBlobs => new()
    {
        { "version length 2^63", [.. Magic, 8, 2, .. new byte[16], .. Uvarint(1UL << 63), .. "go1.19"u8] },
        { "version length 257", [.. Magic, 8, 2, .. new byte[16], .. Uvarint(257), .. new byte[300]] },
        { "varint over 64 bits", [.. Magic, 8, 2, .. new byte[16], .. Enumerable.Repeat((byte)0xff, 11), 1] },
        { "empty version", [.. Magic, 8, 2, .. new byte[16], 0, 0] },
        { "control bytes in the version", [.. Magic, 8, 2, .. new byte[16], 3, (byte)'g', 0, (byte)'o', 0] },
        { "module information over 1 MiB", [.. Magic, 8, 2, .. new byte[16], 6, .. "go1.19"u8, .. Uvarint((1 << 20) + 1), .. new byte[64]] },
        { "module information length 2^63", [.. Magic, 8, 2, .. new byte[16], 6, .. "go1.19"u8, .. Uvarint(1UL << 63)] },
        { "module information cut short", [.. Magic, 8, 2, .. new byte[16], 6, .. "go1.19"u8, .. Uvarint(1 << 20), .. new byte[4096]] },
        { "pointer size 5", [.. Magic, 5, 2, .. new byte[16], 6, .. "go1.19"u8, 0] },
        { "unknown flag bits", [.. Magic, 8, 6, .. new byte[16], 6, .. "go1.19"u8, 0] },
        { "non-zero padding", [.. Magic, 8, 2, .. Enumerable.Repeat((byte)1, 16), 6, .. "go1.19"u8, 0] },
        { "pointers to nowhere", [.. Magic, 8, 0, .. Enumerable.Repeat((byte)0xee, 16)] },
        { "header cut short", [.. Magic, 8, 2, 0, 0] },
        { "magic alone", Magic },
    };

    [Theory]
    [MemberData(nameof(LyingBlobs))]
    public void TryRead_LyingBuildInfo_ReturnsNullWithBoundedMemory(string lie, byte[] blob)
    {
        Assert.NotEmpty(lie);
        foreach (var file in new[] { SyntheticElf.Build(true, false, blob), SyntheticElf.Build(false, true, blob, sectionName: null) })
        {
            AssertBounded(() => Assert.Null(ReadSeekable(file)));
            AssertBounded(() => Assert.Null(ReadForward(file)));
        }
    }

    [Fact]
    public void TryRead_PointerFormatWithHugeStringLength_ReturnsNull()
    {
        var blob = PointerBlob(true, false, Version, ModInfo);
        BitConverter.GetBytes(ulong.MaxValue).CopyTo(blob, 32 + 8); // the version's length
        AssertBounded(() => Assert.Null(ReadSeekable(SyntheticElf.Build(true, false, blob))));
    }

    [Fact]
    public void TryRead_LyingElfTables_NeverThrow()
    {
        var good = SyntheticElf.Build(true, false, InlineBlob(Version, ModInfo));
        // e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx: each set to lies.
        var fields = new (int Offset, int Size)[] { (32, 8), (40, 8), (54, 2), (56, 2), (58, 2), (60, 2), (62, 2) };
        var lies = new ulong[] { 0, 1, 0x7fff, 0xffff, (ulong)good.Length, (ulong)good.Length - 1, 1UL << 40, ulong.MaxValue };
        var tried = 0;
        foreach (var (offset, size) in fields)
        {
            foreach (var lie in lies)
            {
                var file = (byte[])good.Clone();
                SyntheticElf.Write(file.AsSpan(offset), lie, size, bigEndian: false);
                AssertBounded(() =>
                {
                    var info = ReadSeekable(file);
                    Assert.True(info is null || info.GoVersion == "go1.16.15");
                });
                tried++;
            }
        }
        // The section entries themselves: name, type, offset and size of .go.buildinfo and .shstrtab.
        var shOff = (int)BitConverter.ToUInt64(good, 40);
        foreach (var at in new[] { 64, 64 + 4, 64 + 24, 64 + 32, 128, 128 + 24, 128 + 32 })
        {
            foreach (var lie in lies)
            {
                var file = (byte[])good.Clone();
                SyntheticElf.Write(file.AsSpan(shOff + at), lie, at % 8 == 4 || at % 64 == 0 ? 4 : 8, bigEndian: false);
                AssertBounded(() => ReadSeekable(file));
                tried++;
            }
        }
        Assert.Equal((fields.Length + 7) * lies.Length, tried);
    }

    [Fact]
    public void TryRead_MisalignedMagic_IsPassedOver()
    {
        byte[] data = [.. new byte[8], .. InlineBlob(Version, ModInfo)];

        Assert.Null(ReadForward(SyntheticElf.Build(true, false, data)));
        Assert.Null(ReadSeekable(SyntheticElf.Build(true, false, data)));
    }

    [Fact]
    public void TryRead_FalseMagicBeforeTheRealOne_FindsTheRealOne()
    {
        // A Go binary that links debug/buildinfo holds the magic as a string constant in its read-only data.
        byte[] data = [.. Magic, .. "AB and more text"u8, .. new byte[2], .. InlineBlob(Version, ModInfo)];
        Assert.Equal(0, (data.Length - InlineBlob(Version, ModInfo).Length) % 16);

        Assert.Equal("go1.16.15", ReadForward(SyntheticElf.Build(true, false, data))?.GoVersion);
        Assert.Equal("go1.16.15", ReadSeekable(SyntheticElf.Build(true, false, data))?.GoVersion);
    }

    [Fact]
    public void TryRead_AMagicEverySixteenBytes_IsReadInLargeChunks()
    {
        // 4 MiB of aligned magics, each followed by a pointer size that no header has.
        var falseMagic = (byte[])[.. Magic, 0x41, 2];
        var file = SyntheticElf.Build(true, false, [.. Enumerable.Range(0, 4 << 16).SelectMany(_ => falseMagic), .. InlineBlob(Version, ModInfo)], sectionName: null);
        var stream = new ForwardOnlyStream(file);

        Assert.Equal("go1.16.15", GoBuildInfoReader.TryRead(stream, CancellationToken.None)?.GoVersion);
        Assert.True(stream.Reads < 100, $"{stream.Reads} reads");
    }

    [Theory]
    [InlineData(64 * 1024 - 0x1000 - 16)] // the header straddles the first 64 KiB chunk
    [InlineData(64 * 1024 - 0x1000 - 32)] // the version straddles it
    [InlineData((2 * 64 * 1024) - 16 - 0x1000)] // the magic straddles the second chunk (which starts 13 bytes before the first ends)
    [InlineData(3 * 64 * 1024)]
    public void TryRead_HeaderAcrossChunkBoundaries_IsFoundGoingForward(int padding)
    {
        var file = SyntheticElf.Build(true, false, [.. new byte[padding], .. InlineBlob(Version, ModInfo)], sectionName: null);

        Assert.Equal("go1.16.15", ReadForward(file)?.GoVersion);
        Assert.Equal("go1.16.15", ReadForward(file, maxRead: 4093)?.GoVersion);
    }

    [Fact]
    public void TryRead_HeaderBeyondSearchWindow_IsNotReadFromAFile()
    {
        // Go's reader looks at the first 64 KiB of .go.buildinfo; so does this one.
        var file = SyntheticElf.Build(true, false, [.. new byte[128 * 1024], .. InlineBlob(Version, ModInfo)]);
        Assert.Null(ReadSeekable(file));
    }

    [Fact]
    public void TryRead_Cancelled_Throws()
    {
        var file = SyntheticElf.Build(true, false, InlineBlob(Version, ModInfo));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => GoBuildInfoReader.TryRead(new ForwardOnlyStream(file), cts.Token));
    }

    [Theory]
    [InlineData("path\tp\nmod\tm\t(devel)\t\n=>\t../m\t\ndep\ta\tv1.0.0\n=>\tb\tv2.0.0\th1:z\n=>\tc\tv3\n", "m|(devel)|../m|a|v1.0.0|b|v2.0.0")]
    [InlineData("dep\ta\nbuild\t-compiler=gc\ndep\t\tv1\ngarbage\n\n\t\t\n=>\tx\tv1\n", "-|-|-|a||-|-")]
    public void ParseModInfo_Lines_ReadLikeGo(string text, string expected)
    {
        var (_, main, deps) = GoBuildInfoReader.ParseModInfo(text);
        var dep = Assert.Single(deps);
        Assert.Equal(expected, string.Join('|', main?.Path ?? "-", main?.Version ?? "-", main?.Replace?.Path ?? "-",
            dep.Path, dep.Version, dep.Replace?.Path ?? "-", dep.Replace?.Version ?? "-"));
    }

    [Theory]
    [InlineData(new byte[] { 0 }, 0UL, 1)]
    [InlineData(new byte[] { 0x7f }, 127UL, 1)]
    [InlineData(new byte[] { 0x80, 0x01 }, 128UL, 2)]
    [InlineData(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, ulong.MaxValue, 10)]
    [InlineData(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 }, 0UL, 0)]
    [InlineData(new byte[] { 0x80 }, 0UL, 0)]
    public void TryReadUvarint_Bytes_DecodeAsGo(byte[] bytes, ulong value, int length)
    {
        Assert.Equal(length > 0, GoBuildInfoReader.TryReadUvarint(bytes, out var v, out var n));
        Assert.Equal((value, length), (v, n));
    }

    private static void AssertBounded(Action read)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        read();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < MaxAllocatedBytes, $"allocated {allocated} bytes");
    }

    /// <summary>A seekable stream that counts the bytes read through it.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
