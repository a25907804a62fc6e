using System.Buffers.Binary;
using System.Text;

namespace Berth.Scanner.Catalogers.Go;

/// <summary>
/// Reads the build information of a Go executable (ELF: Linux images), as <c>go version -m</c> does.
/// The linker writes a 32-byte header that starts with <c>"\xff Go buildinf:"</c> at a 16-byte boundary
/// (in the <c>.go.buildinfo</c> section), then, since Go 1.18, the toolchain version and the module
/// information as varint-prefixed strings; before 1.18 the header held two pointers to Go strings instead.
/// <para>
/// A seekable stream (a file) is read from offset 0 through the ELF section headers: a few kilobytes
/// for an ordinary binary, and only the build information for a Go one; both formats are read. A forward-only
/// stream (a tar entry) is read through in chunks, with under 70 KiB of buffer plus the module information
/// (at most <see cref="MaxModInfoBytes"/>), looking for the aligned header; only the 1.18+ format can be
/// read that way (the old one points backwards into data already passed), so an older binary gives null there.
/// </para>
/// Anything else (not ELF, ELF without build information, damaged or lying data) gives null, never an
/// exception; only the stream's own failures (I/O errors) and cancellation are thrown.
/// </summary>
public static class GoBuildInfoReader
{
    /// <summary>The longest toolchain version read (<c>go1.22.0 X:boringcrypto</c> is 23 bytes).</summary>
    public const int MaxVersionBytes = 256;

    /// <summary>The longest module information read, as Go's own reader allows.</summary>
    public const int MaxModInfoBytes = 1 << 20;

    private const int HeaderSize = 32;
    private const int Alignment = 16;

    /// <summary>How far past the start of <c>.go.buildinfo</c> (or the data segment) the header may be: Go's reader looks at 64 KiB.</summary>
    private const int SearchWindow = 64 * 1024;

    /// <summary>Enough after a header to hold both length varints and the longest version.</summary>
    private const int Lookahead = HeaderSize + 10 + MaxVersionBytes + 10;

    private const int ForwardChunk = 64 * 1024;
    private const int SeekableChunk = 4 * 1024;

    /// <summary>The most bytes of ELF section headers, section names or program headers read (real binaries: a few KiB).</summary>
    private const int MaxTableBytes = 1 << 20;

    private static ReadOnlySpan<byte> Magic => [0xff, 0x20, 0x47, 0x6f, 0x20, 0x62, 0x75, 0x69, 0x6c, 0x64, 0x69, 0x6e, 0x66, 0x3a]; // "\xff Go buildinf:"

    private static ReadOnlySpan<byte> SectionName => ".go.buildinfo\0"u8;

    private static ReadOnlySpan<byte> ElfMagic => [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"

    /// <summary>Whether the first bytes of a file are the ELF magic (<c>\x7fELF</c>).</summary>
    public static bool IsElf(ReadOnlySpan<byte> head) => head.StartsWith(ElfMagic);

    /// <summary>
    /// The build information of the Go executable in <paramref name="stream"/>, or null when there is none to read.
    /// A seekable stream is read from offset 0 whatever its position; either kind is left part-read.
    /// </summary>
    public static GoBuildInfo? TryRead(Stream stream, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return stream.CanSeek ? ReadSeekable(stream, ct) : ReadForward(stream, ct);
    }

    private static GoBuildInfo? ReadForward(Stream stream, CancellationToken ct)
    {
        var scanner = new Scanner(stream, ForwardChunk);
        scanner.Ensure(ElfHeader.Size64);
        return ElfHeader.Parse(scanner.Data) is null ? null : scanner.Find(long.MaxValue, resolve: null, ct);
    }

    private static GoBuildInfo? ReadSeekable(Stream stream, CancellationToken ct)
    {
        var file = new ElfFile(stream);
        var head = new byte[ElfHeader.Size64];
        if (ElfHeader.Parse(head.AsSpan(0, file.ReadAt(0, head))) is not { } elf)
        {
            return null;
        }
        var start = FindBuildInfoSection(file, elf);
        if (start is null)
        {
            // No usable section headers (stripped of them by sstrip and the like): Go's fallback, the data segment.
            var segments = file.ProgramHeaders(elf);
            start = segments.FirstOrDefault(p => p.IsLoad && (p.Flags & (ProgramHeader.Exec | ProgramHeader.Write)) == ProgramHeader.Write)?.Offset ?? -1;
        }
        if (start < 0)
        {
            return null;
        }
        stream.Position = start.Value;
        var scanner = new Scanner(stream, SeekableChunk);
        return scanner.Find(SearchWindow, header => ResolvePointers(file, elf, header), ct);
    }

    /// <summary>The file offset of <c>.go.buildinfo</c>; -1 when the section table is readable and has none; null when it is unusable.</summary>
    private static long? FindBuildInfoSection(ElfFile file, ElfHeader elf)
    {
        var entrySize = elf.Is64 ? 64 : 40;
        if (elf.ShOff == 0 || elf.ShNum == 0 || elf.ShEntSize < entrySize || (long)elf.ShNum * elf.ShEntSize > MaxTableBytes)
        {
            return null;
        }
        if (file.ReadExactly(elf.ShOff, elf.ShNum * elf.ShEntSize) is not { } table)
        {
            return null;
        }
        var names = elf.ShStrNdx == 0xffff ? (int)elf.U32(table.AsSpan(elf.Is64 ? 40 : 24)) : elf.ShStrNdx; // SHN_XINDEX: index in sh_link of section 0
        if (names <= 0 || names >= elf.ShNum)
        {
            return null;
        }
        var (namesOffset, namesSize) = SectionPlace(elf, table.AsSpan(names * elf.ShEntSize));
        if (namesSize > MaxTableBytes || file.ReadExactly(namesOffset, (int)namesSize) is not { } nameTable)
        {
            return null;
        }
        for (var i = 0; i < elf.ShNum; i++)
        {
            var entry = table.AsSpan(i * elf.ShEntSize, entrySize);
            var nameOffset = elf.U32(entry);
            if (nameOffset < (uint)nameTable.Length && nameTable.AsSpan((int)nameOffset).StartsWith(SectionName))
            {
                const uint noBits = 8; // SHT_NOBITS: no bytes in the file
                var (offset, _) = SectionPlace(elf, entry);
                return elf.U32(entry[4..]) != noBits && offset < (ulong)file.Length ? (long)offset : -1;
            }
        }
        return -1;
    }

    private static (ulong Offset, ulong Size) SectionPlace(ElfHeader elf, ReadOnlySpan<byte> entry) =>
        elf.Is64 ? (elf.U64(entry[24..]), elf.U64(entry[32..])) : (elf.U32(entry[16..]), elf.U32(entry[20..]));

    /// <summary>The pre-1.18 format: the header holds the addresses of two Go string headers (pointer, length).</summary>
    private static GoBuildInfo? ResolvePointers(ElfFile file, ElfHeader elf, ReadOnlySpan<byte> header)
    {
        var ptrSize = header[14];
        var bigEndian = header[15] != 0;
        var versionAddress = ReadPointer(header[16..], ptrSize, bigEndian);
        var modAddress = ReadPointer(header[(16 + ptrSize)..], ptrSize, bigEndian);
        var segments = file.ProgramHeaders(elf);
        var version = ReadGoString(versionAddress, MaxVersionBytes);
        if (version is null || !IsVersionText(version))
        {
            return null;
        }
        var mod = ReadGoString(modAddress, MaxModInfoBytes) ?? [];
        return Build(version, mod);

        byte[]? ReadGoString(ulong address, int max)
        {
            if (ReadData(address, 2 * ptrSize) is not { } stringHeader)
            {
                return null;
            }
            var data = ReadPointer(stringHeader, ptrSize, bigEndian);
            var length = ReadPointer(stringHeader.AsSpan(ptrSize), ptrSize, bigEndian);
            return length > (ulong)max ? null : length == 0 ? [] : ReadData(data, (int)length);
        }

        byte[]? ReadData(ulong address, int size)
        {
            foreach (var p in segments)
            {
                if (p.IsLoad && address >= p.VirtualAddress && address - p.VirtualAddress < p.FileSize)
                {
                    var delta = address - p.VirtualAddress;
                    return p.FileSize - delta >= (ulong)size && delta <= (ulong)file.Length ? file.ReadExactly((ulong)p.Offset + delta, size) : null;
                }
            }
            return null;
        }
    }

    private static ulong ReadPointer(ReadOnlySpan<byte> b, int size, bool bigEndian) => size == 8
        ? bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b)
        : bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

    /// <summary>Go's runtime.buildVersion is printable ASCII (<c>go1.19.8</c>, <c>devel go1.23-1a2b3c Tue ...</c>).</summary>
    private static bool IsVersionText(ReadOnlySpan<byte> version) =>
        version.Length > 0 && !version.ContainsAnyExceptInRange((byte)0x20, (byte)0x7e);

    /// <summary>
    /// Builds the result from the version and the raw module information: its 16-byte sentinels are
    /// stripped as Go does (only when it is at least 33 bytes and has a newline 17 bytes from the end).
    /// </summary>
    internal static GoBuildInfo Build(ReadOnlySpan<byte> version, ReadOnlySpan<byte> modInfo)
    {
        modInfo = modInfo.Length >= 33 && modInfo[^17] == (byte)'\n' ? modInfo[16..^16] : [];
        var (path, main, deps) = ParseModInfo(Encoding.UTF8.GetString(modInfo));
        return new GoBuildInfo(Encoding.ASCII.GetString(version), path, main, deps);
    }

    /// <summary>
    /// The lines of the module information: <c>path</c>, <c>mod</c> (main module), <c>dep</c>, and <c>=&gt;</c>
    /// (the replacement of the module on the line just before); fields are tab-separated, the checksum is ignored,
    /// <c>build</c> settings and unknown lines are skipped.
    /// </summary>
    internal static (string? Path, GoModule? Main, IReadOnlyList<GoModule> Deps) ParseModInfo(string text)
    {
        string? path = null;
        GoModule? main = null;
        var deps = new List<GoModule>();
        var last = 0; // what the line before was: 0 anything else, 1 the main module, 2 a dep
        foreach (var line in text.Split('\n'))
        {
            var previous = last;
            last = 0;
            var fields = line.Split('\t');
            if (fields.Length < 2 || fields[1].Length == 0)
            {
                continue;
            }
            var module = new GoModule(fields[1], fields.Length > 2 ? fields[2] : "", null);
            switch (fields[0])
            {
                case "path":
                    path = fields[1];
                    break;
                case "mod":
                    main = module;
                    last = 1;
                    break;
                case "dep":
                    deps.Add(module);
                    last = 2;
                    break;
                case "=>" when previous == 1:
                    main = main! with { Replace = module };
                    break;
                case "=>" when previous == 2:
                    deps[^1] = deps[^1] with { Replace = module };
                    break;
                default:
                    break;
            }
        }
        return (path, main, deps);
    }

    /// <summary>Reads an unsigned LEB128 varint as Go's binary.Uvarint does; false when cut short or over 64 bits.</summary>
    internal static bool TryReadUvarint(ReadOnlySpan<byte> data, out ulong value, out int length)
    {
        value = 0;
        for (var i = 0; i < data.Length && i < 10; i++)
        {
            var b = data[i];
            if (i == 9 && b > 1)
            {
                break; // overflows 64 bits
            }
            value |= (ulong)(b & 0x7f) << (7 * i);
            if (b < 0x80)
            {
                length = i + 1;
                return true;
            }
        }
        value = 0;
        length = 0;
        return false;
    }

    /// <summary>A forward reader that looks for the aligned header; positions are relative to where it started.</summary>
    private sealed class Scanner(Stream stream, int chunk)
    {
        private readonly byte[] _buffer = new byte[chunk + Lookahead];
        private int _start;
        private int _end;
        private long _position; // of _buffer[_start], from where the scanner started
        private bool _eof;

        public ReadOnlySpan<byte> Data => _buffer.AsSpan(_start, _end - _start);

        /// <summary>Makes <paramref name="count"/> bytes available (fewer only at the end of the stream), reading no more than that.</summary>
        public void Ensure(int count)
        {
            if (_end - _start >= count)
            {
                return;
            }
            if (_start + count > _buffer.Length)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            while (!_eof && _end - _start < count)
            {
                var read = stream.Read(_buffer, _end, _start + count - _end);
                _eof = read <= 0;
                _end += Math.Max(read, 0);
            }
        }

        private void Skip(int count)
        {
            _start += count;
            _position += count;
        }

        /// <summary>
        /// The first aligned header that starts before <paramref name="window"/> and reads as build information.
        /// Headers in the old pointer format are handed to <paramref name="resolve"/> (whose answer is final);
        /// without one they are passed over.
        /// </summary>
        public GoBuildInfo? Find(long window, Func<ReadOnlySpan<byte>, GoBuildInfo?>? resolve, CancellationToken ct)
        {
            while (_position < window)
            {
                ct.ThrowIfCancellationRequested();
                if (Data.Length < Lookahead)
                {
                    Ensure(chunk); // refill only when a header could not be judged: many false magics cost no reads
                }
                var data = Data;
                if (data.Length < HeaderSize)
                {
                    return null;
                }
                var at = FindAlignedMagic(data, _position);
                if (at < 0)
                {
                    if (_eof)
                    {
                        return null;
                    }
                    Skip(data.Length - (Magic.Length - 1)); // keep what could be the start of a magic
                    continue;
                }
                if (_position + at >= window)
                {
                    return null;
                }
                Skip(at);
                Ensure(Lookahead);
                var (info, final) = TryHeader(resolve);
                if (final)
                {
                    return info;
                }
                Skip(Math.Min(Alignment, Data.Length));
            }
            return null;
        }

        private static int FindAlignedMagic(ReadOnlySpan<byte> data, long position)
        {
            var from = 0;
            while (from <= data.Length - Magic.Length)
            {
                var found = data[from..].IndexOf(Magic);
                if (found < 0)
                {
                    return -1;
                }
                var at = from + found;
                if ((position + at) % Alignment == 0)
                {
                    return at;
                }
                from = at + 1;
            }
            return -1;
        }

        /// <summary>Reads the header at the start of <see cref="Data"/>; final when nothing further should be looked at.</summary>
        private (GoBuildInfo? Info, bool Final) TryHeader(Func<ReadOnlySpan<byte>, GoBuildInfo?>? resolve)
        {
            var data = Data;
            if (data.Length < HeaderSize)
            {
                return (null, true);
            }
            var ptrSize = data[14];
            var flags = data[15];
            if (ptrSize is not (4 or 8) || (flags & ~3) != 0)
            {
                return (null, false);
            }
            if ((flags & 2) == 0)
            {
                return resolve is null ? (null, false) : (resolve(data[..HeaderSize]), true);
            }
            if (data[16..HeaderSize].ContainsAnyExcept((byte)0)
                || !TryReadUvarint(data[HeaderSize..], out var versionLength, out var n)
                || versionLength > MaxVersionBytes
                || HeaderSize + n + (int)versionLength > data.Length)
            {
                return (null, false);
            }
            var version = data.Slice(HeaderSize + n, (int)versionLength);
            var modAt = HeaderSize + n + (int)versionLength;
            if (!IsVersionText(version) || !TryReadUvarint(data[modAt..], out var modLength, out var m) || modLength > MaxModInfoBytes)
            {
                return (null, false);
            }
            modAt += m;
            var versionBytes = version.ToArray();
            return (ReadBytes(modAt, (int)modLength) is { } mod ? Build(versionBytes, mod) : null, true);
        }

        /// <summary>The <paramref name="count"/> bytes from <paramref name="offset"/> in <see cref="Data"/> on; null when the stream ends first. Reads past the buffer.</summary>
        private byte[]? ReadBytes(int offset, int count)
        {
            var bytes = new byte[count];
            var buffered = Math.Clamp(Data.Length - offset, 0, count);
            Data.Slice(offset, buffered).CopyTo(bytes);
            return buffered == count || stream.ReadAtLeast(bytes.AsSpan(buffered), count - buffered, throwOnEndOfStream: false) == count - buffered
                ? bytes
                : null;
        }
    }

    private sealed record ElfHeader(bool Is64, bool BigEndian, ulong PhOff, int PhEntSize, int PhNum, ulong ShOff, int ShEntSize, int ShNum, int ShStrNdx)
    {
        public const int Size64 = 64;
        private const int Size32 = 52;

        public static ElfHeader? Parse(ReadOnlySpan<byte> h)
        {
            if (!IsElf(h) || h.Length < Size32 || h[4] is not (1 or 2) || h[5] is not (1 or 2) || (h[4] == 2 && h.Length < Size64))
            {
                return null;
            }
            var is64 = h[4] == 2;
            var bigEndian = h[5] == 2;
            var e = new ElfHeader(is64, bigEndian, 0, 0, 0, 0, 0, 0, 0);
            return is64
                ? e with
                {
                    PhOff = e.U64(h[32..]), ShOff = e.U64(h[40..]),
                    PhEntSize = e.U16(h[54..]), PhNum = e.U16(h[56..]), ShEntSize = e.U16(h[58..]), ShNum = e.U16(h[60..]), ShStrNdx = e.U16(h[62..]),
                }
                : e with
                {
                    PhOff = e.U32(h[28..]), ShOff = e.U32(h[32..]),
                    PhEntSize = e.U16(h[42..]), PhNum = e.U16(h[44..]), ShEntSize = e.U16(h[46..]), ShNum = e.U16(h[48..]), ShStrNdx = e.U16(h[50..]),
                };
        }

        public ushort U16(ReadOnlySpan<byte> b) => BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

        public uint U32(ReadOnlySpan<byte> b) => BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

        public ulong U64(ReadOnlySpan<byte> b) => BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    private sealed record ProgramHeader(uint Type, uint Flags, long Offset, ulong VirtualAddress, ulong FileSize)
    {
        public const uint Exec = 1;
        public const uint Write = 2;

        public bool IsLoad => Type == 1;
    }

    /// <summary>Bounded random access to a seekable stream.</summary>
    private sealed class ElfFile(Stream stream)
    {
        private IReadOnlyList<ProgramHeader>? _programHeaders;

        public long Length { get; } = stream.Length;

        public int ReadAt(long offset, Span<byte> buffer)
        {
            stream.Position = offset;
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }

        /// <summary>Exactly <paramref name="count"/> bytes at <paramref name="offset"/>, or null when the file is shorter.</summary>
        public byte[]? ReadExactly(ulong offset, int count)
        {
            if (count < 0 || offset > (ulong)Length || (ulong)Length - offset < (ulong)count)
            {
                return null;
            }
            var bytes = new byte[count];
            return ReadAt((long)offset, bytes) == count ? bytes : null;
        }

        /// <summary>The program headers (loadable segments and the rest); empty when unreadable.</summary>
        public IReadOnlyList<ProgramHeader> ProgramHeaders(ElfHeader elf)
        {
            if (_programHeaders is not null)
            {
                return _programHeaders;
            }
            var entrySize = elf.Is64 ? 56 : 32;
            var list = new List<ProgramHeader>();
            if (elf.PhEntSize >= entrySize && (long)elf.PhNum * elf.PhEntSize <= MaxTableBytes
                && ReadExactly(elf.PhOff, elf.PhNum * elf.PhEntSize) is { } table)
            {
                for (var i = 0; i < elf.PhNum; i++)
                {
                    var p = table.AsSpan(i * elf.PhEntSize, entrySize);
                    var (type, flags, offset, address, size) = elf.Is64
                        ? (elf.U32(p), elf.U32(p[4..]), elf.U64(p[8..]), elf.U64(p[16..]), elf.U64(p[32..]))
                        : (elf.U32(p), elf.U32(p[24..]), elf.U32(p[4..]), elf.U32(p[8..]), elf.U32(p[16..]));
                    if (offset <= (ulong)Length)
                    {
                        list.Add(new ProgramHeader(type, flags, (long)offset, address, size));
                    }
                }
            }
            return _programHeaders = list;
        }
    }
}
