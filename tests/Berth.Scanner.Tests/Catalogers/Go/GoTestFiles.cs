using System.Buffers.Binary;
using System.Text;
using Berth.Scanner.Catalogers.Go;

namespace Berth.Scanner.Tests.Catalogers.Go;

/// <summary>A forward-only stream over bytes (like a tar entry's), handing out at most <paramref name="maxRead"/> bytes a read.</summary>
internal sealed class ForwardOnlyStream(byte[] data, int maxRead = int.MaxValue) : Berth.Scanner.Layers.ReadOnlyStream
{
    private int _position;

    public long BytesRead => _position;

    public int Reads { get; private set; }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Reads++;
        var n = Math.Min(Math.Min(buffer.Length, maxRead), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer.Span);
        _position += n;
        return ValueTask.FromResult(n);
    }
}

/// <summary>Test helpers that read one way or the other, and build ELF files and build-information blobs by hand.</summary>
internal static class GoTestFiles
{
    public static GoBuildInfo? ReadSeekable(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return GoBuildInfoReader.TryRead(stream, CancellationToken.None);
    }

    public static GoBuildInfo? ReadForward(byte[] bytes, int maxRead = int.MaxValue) =>
        GoBuildInfoReader.TryRead(new ForwardOnlyStream(bytes, maxRead), CancellationToken.None);

    /// <summary>The result as one comparable string (records hold lists, which compare by reference).</summary>
    public static string? Describe(GoBuildInfo? info) => info is null
        ? null
        : $"{info.GoVersion}|{info.Path}|{info.Main}|{string.Join(";", info.Deps)}";

    /// <summary>Module information as the go command frames it: 16-byte sentinels around newline-ended lines.</summary>
    public static byte[] Frame(string lines) =>
        [.. Enumerable.Repeat((byte)0x30, 16), .. Encoding.UTF8.GetBytes(lines), .. Enumerable.Repeat((byte)0xf9, 16)];

    public static byte[] Magic => [0xff, .. " Go buildinf:"u8];

    /// <summary>A Go 1.18+ header: magic, pointer size, flags (2: inline strings), 16 zero bytes, then the varint-prefixed strings.</summary>
    public static byte[] InlineBlob(byte[] version, byte[] modInfo, int ptrSize = 8, byte flags = 2) =>
        [.. Magic, (byte)ptrSize, flags, .. new byte[16], .. Uvarint((ulong)version.Length), .. version, .. Uvarint((ulong)modInfo.Length), .. modInfo];

    public static byte[] Uvarint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }
        bytes.Add((byte)value);
        return [.. bytes];
    }

    /// <summary>
    /// A pre-1.18 header as it sits at <see cref="SyntheticElf.VirtualBase"/>: two pointers to Go string
    /// headers (pointer, length) placed right after it, and the strings after those.
    /// </summary>
    public static byte[] PointerBlob(bool is64, bool bigEndian, byte[] version, byte[] modInfo)
    {
        var ptr = is64 ? 8 : 4;
        var headers = 32UL;
        var versionData = headers + (ulong)(4 * ptr);
        var modData = versionData + (ulong)version.Length;
        var blob = new byte[(int)modData + modInfo.Length];
        Magic.CopyTo(blob, 0);
        blob[14] = (byte)ptr;
        blob[15] = (byte)(bigEndian ? 1 : 0);
        var v = SyntheticElf.VirtualBase;
        Put(blob, 16, v + headers);
        Put(blob, 16 + ptr, v + headers + (ulong)(2 * ptr));
        Put(blob, (int)headers, v + versionData);
        Put(blob, (int)headers + ptr, (ulong)version.Length);
        Put(blob, (int)headers + (2 * ptr), v + modData);
        Put(blob, (int)headers + (3 * ptr), (ulong)modInfo.Length);
        version.CopyTo(blob, (int)versionData);
        modInfo.CopyTo(blob, (int)modData);
        return blob;

        void Put(byte[] b, int at, ulong value) => SyntheticElf.Write(b.AsSpan(at), value, ptr, bigEndian);
    }
}

/// <summary>
/// Minimal ELF executables made in memory: the header, one loadable read-write segment holding the
/// data at <see cref="VirtualBase"/> (file offset <see cref="DataOffset"/>), and optionally section
/// headers naming a section (<c>.go.buildinfo</c>) at the start of that data.
/// </summary>
internal static class SyntheticElf
{
    public const ulong VirtualBase = 0x500000;
    public const int DataOffset = 0x1000;

    public static byte[] Build(bool is64, bool bigEndian, byte[] data, string? sectionName = ".go.buildinfo")
    {
        var ehSize = is64 ? 64 : 52;
        var phSize = is64 ? 56 : 32;
        var shSize = is64 ? 64 : 40;
        var ptr = is64 ? 8 : 4;
        var names = Encoding.ASCII.GetBytes($"\0{sectionName}\0.shstrtab\0");
        var namesOffset = DataOffset + data.Length;
        var shOff = (namesOffset + names.Length + 7) & ~7;
        var sectionCount = sectionName is null ? 0 : 3;
        var file = new byte[shOff + (sectionCount * shSize)];

        var h = file.AsSpan();
        ((ReadOnlySpan<byte>)[0x7f, .. "ELF"u8]).CopyTo(h);
        h[4] = (byte)(is64 ? 2 : 1);
        h[5] = (byte)(bigEndian ? 2 : 1);
        h[6] = 1;
        W(h[16..], 2, 2); // ET_EXEC
        W(h[18..], 62, 2);
        W(h[20..], 1, 4);
        if (is64)
        {
            W(h[32..], (ulong)ehSize, 8);
            W(h[40..], sectionCount == 0 ? 0UL : (ulong)shOff, 8);
            W(h[52..], (ulong)ehSize, 2);
            W(h[54..], (ulong)phSize, 2);
            W(h[56..], 1, 2);
            W(h[58..], (ulong)shSize, 2);
            W(h[60..], (ulong)sectionCount, 2);
            W(h[62..], sectionCount == 0 ? 0UL : 2, 2);
        }
        else
        {
            W(h[28..], (ulong)ehSize, 4);
            W(h[32..], sectionCount == 0 ? 0UL : (ulong)shOff, 4);
            W(h[40..], (ulong)ehSize, 2);
            W(h[42..], (ulong)phSize, 2);
            W(h[44..], 1, 2);
            W(h[46..], (ulong)shSize, 2);
            W(h[48..], (ulong)sectionCount, 2);
            W(h[50..], sectionCount == 0 ? 0UL : 2, 2);
        }

        var p = h[ehSize..];
        W(p, 1, 4); // PT_LOAD
        if (is64)
        {
            W(p[4..], 6, 4); // PF_R | PF_W
            W(p[8..], DataOffset, 8);
            W(p[16..], VirtualBase, 8);
            W(p[24..], VirtualBase, 8);
            W(p[32..], (ulong)data.Length, 8);
            W(p[40..], (ulong)data.Length, 8);
            W(p[48..], 0x1000, 8);
        }
        else
        {
            W(p[4..], DataOffset, 4);
            W(p[8..], VirtualBase, 4);
            W(p[12..], VirtualBase, 4);
            W(p[16..], (ulong)data.Length, 4);
            W(p[20..], (ulong)data.Length, 4);
            W(p[24..], 6, 4);
            W(p[28..], 0x1000, 4);
        }

        data.CopyTo(file, DataOffset);
        names.CopyTo(file, namesOffset);
        if (sectionCount > 0)
        {
            Section(h[(shOff + shSize)..], 1, 1, VirtualBase, DataOffset, (ulong)data.Length); // PROGBITS
            Section(h[(shOff + (2 * shSize))..], (uint)(2 + sectionName!.Length), 3, 0, (ulong)namesOffset, (ulong)names.Length); // STRTAB
        }
        return file;

        void W(Span<byte> at, ulong value, int size) => Write(at, value, size, bigEndian);

        void Section(Span<byte> s, uint name, uint type, ulong address, ulong offset, ulong size)
        {
            W(s, name, 4);
            W(s[4..], type, 4);
            W(s[(is64 ? 16 : 12)..], address, ptr);
            W(s[(is64 ? 24 : 16)..], offset, ptr);
            W(s[(is64 ? 32 : 20)..], size, ptr);
        }
    }

    public static void Write(Span<byte> at, ulong value, int size, bool bigEndian)
    {
        switch (size, bigEndian)
        {
            case (2, false): BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)value); break;
            case (2, true): BinaryPrimitives.WriteUInt16BigEndian(at, (ushort)value); break;
            case (4, false): BinaryPrimitives.WriteUInt32LittleEndian(at, (uint)value); break;
            case (4, true): BinaryPrimitives.WriteUInt32BigEndian(at, (uint)value); break;
            case (8, false): BinaryPrimitives.WriteUInt64LittleEndian(at, value); break;
            default: BinaryPrimitives.WriteUInt64BigEndian(at, value); break;
        }
    }
}
