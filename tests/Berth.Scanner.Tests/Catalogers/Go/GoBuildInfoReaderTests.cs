using Berth.Scanner.Catalogers.Go;
using static Berth.Scanner.Tests.Catalogers.Go.GoTestFiles;

namespace Berth.Scanner.Tests.Catalogers.Go;

/// <summary>The reader on real Go 1.19 executables, built at test time by <see cref="GoProgramsFixture"/>.</summary>
public sealed class GoBuildInfoReaderTests(GoProgramsFixture programs) : IClassFixture<GoProgramsFixture>
{
    private static GoBuildInfo? ReadFile(string path)
    {
        using var file = File.OpenRead(path);
        return GoBuildInfoReader.TryRead(file, CancellationToken.None);
    }

    [Fact]
    public void TryRead_StdlibOnlyProgram_ReadsToolchainAndMainModule()
    {
        var info = ReadFile(programs.Hello);

        Assert.NotNull(info);
        Assert.StartsWith("go1.19.", info.GoVersion, StringComparison.Ordinal);
        Assert.Equal("example.com/hello", info.Path);
        Assert.Equal(new GoModule("example.com/hello", "(devel)", null), info.Main);
        Assert.Empty(info.Deps);
    }

    [Fact]
    public void TryRead_VendoredProgram_ReadsDependenciesAndReplacements()
    {
        var info = ReadFile(programs.App);

        Assert.NotNull(info);
        Assert.Equal("example.com/app", info.Path);
        Assert.Equal(
            [
                new GoModule("example.com/local", "v0.0.0", new GoModule("./local", "(devel)", null)),
                new GoModule("github.com/acme/net", "v1.0.0", new GoModule("golang.org/x/net", "v0.0.0-20210220033148-5ea612d1eb83", null)),
                new GoModule("golang.org/x/text", "v0.3.5", null),
            ],
            info.Deps);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(4093)]
    [InlineData(7)]
    public void TryRead_ForwardOnlyStream_SameAsFromTheFile(int maxRead)
    {
        foreach (var path in new[] { programs.Hello, programs.App })
        {
            var bytes = File.ReadAllBytes(path);
            var stream = new ForwardOnlyStream(bytes, maxRead);

            var forward = GoBuildInfoReader.TryRead(stream, CancellationToken.None);

            Assert.NotNull(forward);
            Assert.Equal(Describe(ReadFile(path)), Describe(forward));
            Assert.True(stream.BytesRead < bytes.Length, "stops reading once it has the build information");
        }
    }

    [Fact]
    public void TryRead_FromAFile_ReadsOnlyTheHeadersAndTheBuildInfo()
    {
        var bytes = File.ReadAllBytes(programs.App);
        var (section, _) = BuildInfoPlace(bytes);

        // Header, section table, names and the build information (a 4 KiB read): a few KiB of a 1.8 MB file.
        var reads = new ReadTracker(bytes);
        Assert.NotNull(GoBuildInfoReader.TryRead(reads, CancellationToken.None));
        Assert.True(reads.BytesRead < 16 * 1024, $"read {reads.BytesRead} bytes");
        Assert.Contains(reads.Offsets, o => o == section);
    }

    [Fact]
    public void TryRead_TruncatedGoBinary_GivesNullOrTheWholeAnswerNeverAnException()
    {
        var bytes = File.ReadAllBytes(programs.App);
        var whole = Describe(ReadSeekable(bytes));
        var (section, size) = BuildInfoPlace(bytes);
        var cuts = new[] { 0, 3, 20, 63, 64, 4096, section, section + 14, section + 31, section + 40, section + size - 20, section + size - 1 }
            .Concat(Enumerable.Range(1, 40).Select(i => (int)((long)bytes.Length * i / 41)))
            .Append(bytes.Length - 1);
        var nulls = 0;
        foreach (var cut in cuts)
        {
            var truncated = bytes[..cut];
            var seekable = Describe(ReadSeekable(truncated));
            var forward = Describe(ReadForward(truncated));
            Assert.True(seekable is null || seekable == whole, $"cut at {cut}: {seekable}");
            Assert.True(forward is null || forward == whole, $"cut at {cut}: {forward}");
            nulls += cut <= section + size - 1 && seekable is null && forward is null ? 1 : 0;
        }
        Assert.Equal(12 + Enumerable.Range(1, 40).Count(i => (long)bytes.Length * i / 41 <= section + size - 1), nulls);
    }

    [Fact]
    public void TryRead_RandomMutationsOfTheBuildInfoRegion_NeverThrowAndStayBounded()
    {
        var original = File.ReadAllBytes(programs.App);
        var (section, size) = BuildInfoPlace(original);
        // The file to mutate in place, and a short forward stream: the ELF header, then the region around
        // the build information (at the same alignment), so that each forward read stays quick.
        var file = (byte[])original.Clone();
        var regionStart = section - 4096;
        var (sectionTable, sectionTableSize) = ((int)BitConverter.ToUInt64(original, 40), BitConverter.ToUInt16(original, 60) * 64);
        var random = new Random(20240601);
        var read = 0;
        var maxAllocated = 0L;
        for (var i = 0; i < 3000; i++)
        {
            var changes = new List<(int At, byte Was)>();
            var count = random.Next(1, 9);
            for (var c = 0; c < count; c++)
            {
                // Mostly in the build information; sometimes in the ELF header or the section table.
                var at = random.Next(10) switch
                {
                    0 => random.Next(64),
                    1 => sectionTable + random.Next(sectionTableSize),
                    _ => section + random.Next(-32, size + 32),
                };
                changes.Add((at, file[at]));
                file[at] = random.Next(4) switch
                {
                    0 => 0xff,
                    1 => 0x80,
                    2 => 0,
                    _ => (byte)random.Next(256),
                };
            }
            byte[] forwardBytes = [.. file.AsSpan(0, 64), .. new byte[regionStart % 16 == 0 ? 0 : 16 - (regionStart % 16)], .. file.AsSpan(regionStart, 4096 + size + 8192)];
            var cut = random.Next(3) == 0 ? random.Next(section, section + size + 1) : file.Length;

            var before = GC.GetAllocatedBytesForCurrentThread();
            GoBuildInfo? seekable;
            using (var stream = new MemoryStream(file, 0, cut, writable: false))
            {
                seekable = GoBuildInfoReader.TryRead(stream, CancellationToken.None);
            }
            var forward = ReadForward(forwardBytes, maxRead: random.Next(1, 70_000));
            maxAllocated = Math.Max(maxAllocated, GC.GetAllocatedBytesForCurrentThread() - before);
            read += (seekable is null ? 0 : 1) + (forward is null ? 0 : 1);

            foreach (var (at, was) in changes.AsEnumerable().Reverse())
            {
                file[at] = was;
            }
        }
        Assert.True(maxAllocated < 8 * 1024 * 1024, $"one read allocated {maxAllocated} bytes");
        Assert.True(read > 0, "some mutations leave the build information readable");
        Assert.Equal(original, file);
    }

    /// <summary>The file offset and length of .go.buildinfo: the aligned magic with the inline flag, as the linker writes it.</summary>
    private static (int Offset, int Size) BuildInfoPlace(byte[] bytes)
    {
        for (var at = 0; at + 32 <= bytes.Length; at += 16)
        {
            if (bytes.AsSpan(at).StartsWith(Magic) && bytes[at + 15] == 2)
            {
                Assert.True(GoBuildInfoReader.TryReadUvarint(bytes.AsSpan(at + 32), out var v, out var n));
                var mod = at + 32 + n + (int)v;
                Assert.True(GoBuildInfoReader.TryReadUvarint(bytes.AsSpan(mod), out var m, out var k));
                return (at, 32 + n + (int)v + k + (int)m);
            }
        }
        throw new InvalidOperationException("no build information in the test binary");
    }

    /// <summary>A seekable stream over bytes that records where each read started and how much it returned.</summary>
    private sealed class ReadTracker(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public List<long> Offsets { get; } = [];

        public long BytesRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Track(base.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer)
        {
            Offsets.Add(Position);
            var n = base.Read(buffer);
            BytesRead += n;
            return n;
        }

        private int Track(int n)
        {
            Offsets.Add(Position - n);
            BytesRead += n;
            return n;
        }
    }
}
