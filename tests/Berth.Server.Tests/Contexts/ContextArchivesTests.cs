using System.Formats.Tar;
using System.Text;
using Berth.Server.Contexts;
using static Berth.Server.Tests.Contexts.RawTar;

namespace Berth.Server.Tests.Contexts;

public sealed class ContextArchivesTests
{
    private static readonly byte[] InnerTar = Tar(TarEntryFormat.Pax, Entry("inside.txt", "payload"u8.ToArray())).ToArray();

    private static PaxTarEntry Entry(string name, byte[] content) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) };

    private static PaxTarEntry Link(TarEntryType type, string name, string target) => new(type, name) { LinkName = target };

    private static IReadOnlyList<string> Find(Stream tar) => ContextArchives.Find(tar, CancellationToken.None);

    private static byte[] Noise(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Find_EachFormatAddUnpacks_IsListed()
    {
        var tar = Tar(TarEntryFormat.Pax,
            Entry("a.tar", InnerTar),
            Entry("b.tar.gz", Gzip(InnerTar)),
            Entry("c.tar.bz2", [.. "BZh91AY&SY"u8, .. Noise(600, 1)]),
            Entry("d.tar.xz", [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, .. Noise(600, 2)]),
            Entry("e.tar.zst", [0x28, 0xB5, 0x2F, 0xFD, .. Noise(600, 3)]),
            Entry("notes.txt", Encoding.UTF8.GetBytes(new string('n', 2000))),
            Entry("data.json.gz", Gzip(Encoding.UTF8.GetBytes("{\"a\": [" + string.Join(',', Enumerable.Range(0, 500)) + "]}"))),
            Entry("random.bin", Noise(4096, 4)),
            Entry("Dockerfile", "FROM a:1\nADD a.tar /\n"u8.ToArray()));
        Assert.Equal(["a.tar", "b.tar.gz", "c.tar.bz2", "d.tar.xz", "e.tar.zst"], Find(tar));
    }

    [Fact]
    public void Find_V7TarWithoutUstarMagic_IsListed()
    {
        // Go's tar reader (Docker) accepts any block with a valid checksum, magic or not.
        var v7 = Tar(TarEntryFormat.V7, new V7TarEntry(TarEntryType.V7RegularFile, "old.txt") { DataStream = new MemoryStream([1, 2, 3]) }).ToArray();
        Assert.False(v7.AsSpan(257, 5).SequenceEqual("ustar"u8));
        Assert.Equal(["old.v7"], Find(Tar(TarEntryFormat.Pax, Entry("old.v7", v7))));
    }

    [Fact]
    public void Find_UstarMagicWithABadChecksum_IsListedAnyway()
    {
        var block = new byte[512];
        "ustar\0"u8.CopyTo(block.AsSpan(257));
        Assert.Equal(["odd"], Find(Tar(TarEntryFormat.Pax, Entry("odd", block))));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(1024)]
    public void Find_ShortOrZeroFiles_AreNotListed(int zeros)
    {
        var header = Tar(TarEntryFormat.Pax, Entry("x", [])).ToArray()[..511];
        Assert.Empty(Find(Tar(TarEntryFormat.Pax, Entry("zeros", new byte[zeros]), Entry("short", header))));
    }

    [Fact]
    public void Find_GzipThatIsNotATar_IsNotListed_ButAGzippedTarIs()
    {
        var tar = Tar(TarEntryFormat.Pax, Entry("small.gz", Gzip("hello"u8.ToArray())), Entry("big.gz", Gzip(Noise(100_000, 5))), Entry("inner.tgz", Gzip(InnerTar)));
        Assert.Equal(["inner.tgz"], Find(tar));
    }

    [Fact]
    public void IsArchive_GzipItCannotInflate_CountsAsAnArchive()
    {
        var truncated = Gzip(Noise(100_000, 6))[..200];
        Assert.True(ContextArchives.IsArchive(truncated, complete: false));
        Assert.False(ContextArchives.IsArchive(Gzip("hi"u8.ToArray()), complete: true));
        Assert.True(ContextArchives.IsArchive([0x1F, 0x8B, 0x09, 0, 0, 0, 0, 0, 0, 0], complete: false));
    }

    [Fact]
    public void Find_LinksResolvingToAnArchive_AreListed()
    {
        var tar = Tar(TarEntryFormat.Pax,
            Link(TarEntryType.SymbolicLink, "lib/chain", "link.tar"),
            Entry("pkg/a.tar", InnerTar),
            Link(TarEntryType.SymbolicLink, "lib/link.tar", "../pkg/a.tar"),
            Link(TarEntryType.HardLink, "hard.tar", "pkg/a.tar"),
            Entry("text", "t"u8.ToArray()),
            Link(TarEntryType.SymbolicLink, "text-link", "text"),
            Link(TarEntryType.SymbolicLink, "loop", "loop"));
        Assert.Equal(["pkg/a.tar", "lib/chain", "lib/link.tar", "hard.tar"], Find(tar));
    }

    [Theory]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Gnu)]
    [InlineData(TarEntryFormat.Ustar)]
    public void Find_LongPaths_AreReturnedWhole(TarEntryFormat format)
    {
        var name = string.Join('/', Enumerable.Repeat("directory-name", 10)) + "/x.tar"; // 155 characters: ustar splits it into prefix and name
        TarEntry entry = format switch
        {
            TarEntryFormat.Gnu => new GnuTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(InnerTar) },
            TarEntryFormat.Ustar => new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(InnerTar) },
            _ => Entry(name, InnerTar),
        };
        Assert.Equal([name], Find(Tar(format, entry)));
    }

    [Fact]
    public void Find_DotSlashNames_AreContextRelative()
    {
        Assert.Equal(["dir/a.tar"], Find(Blocks([.. Header('0', "./dir/a.tar", InnerTar.Length), .. Padded(InnerTar)])));
    }

    [Fact]
    public void Find_GarbageAfterAnArchive_ReturnsWhatWasFound()
    {
        var good = Tar(TarEntryFormat.Pax, Entry("a.tar", InnerTar)).ToArray()[..^1024];
        Assert.Equal(["a.tar"], Find(new MemoryStream([.. good, .. Noise(5000, 7)])));
        Assert.Equal(["a.tar"], Find(new MemoryStream(good[..^300])));
    }

    [Fact]
    public void Find_RandomBytes_NeverThrow()
    {
        var valid = Tar(TarEntryFormat.Pax, Entry("a.tar", InnerTar), Entry("b.txt", "b"u8.ToArray())).ToArray();
        var random = new Random(11);
        for (var i = 0; i < 300; i++)
        {
            var bytes = i % 2 == 0 ? Noise(random.Next(0, 4096), i) : (byte[])valid.Clone();
            for (var flips = i % 2 == 0 ? 0 : random.Next(1, 10); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            Assert.NotNull(Find(new MemoryStream(bytes)));
        }
    }

    [Fact]
    public void Find_HeaderBomb_StopsWithoutReadingIt()
    {
        var bomb = Bomb(Header('L', "././@LongLink", 400 * Mb), 400 * Mb);
        Assert.Empty(Find(bomb));
        Assert.Equal(512, bomb.BytesRead);
    }

    [Fact]
    public void Find_UnseekableStream_SkipsByReading()
    {
        var tar = Tar(TarEntryFormat.Pax, Entry("big.bin", Noise(300_000, 8)), Entry("z.tar", InnerTar)).ToArray();
        Assert.Equal(["z.tar"], Find(new LazyStream(tar, [], 0)));
    }

    [Fact]
    public async Task Find_PackedContext_ListsTheArchivesBuildContextPackerWrote()
    {
        using var packed = new MemoryStream();
        await BuildContextPacker.PackAsync(null, Tar(TarEntryFormat.Gnu, Entry("./Dockerfile", "FROM a:1\nADD app.tgz /\n"u8.ToArray()), Entry("./app.tgz", Gzip(InnerTar))),
            packed, Mb, 100, 100, CancellationToken.None);
        packed.Position = 0;
        Assert.Equal(["app.tgz"], Find(packed));
    }
}
