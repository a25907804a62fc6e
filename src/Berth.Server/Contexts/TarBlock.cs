using System.Globalization;
using System.Text;

namespace Berth.Server.Contexts;

/// <summary>
/// Fields of one 512-byte tar header block, parsed the way System.Formats.Tar's TarReader parses them
/// (so <see cref="TarGuardStream"/> and the reader agree on where every header starts) and, for
/// <see cref="LooksLikeTarHeader"/>, the way Go's archive/tar (Docker) recognises one. Nothing here throws
/// on bad input: a malformed field is reported as null or false.
/// </summary>
internal static class TarBlock
{
    public const int Size = 512;

    public const byte LongName = (byte)'L';
    public const byte LongLink = (byte)'K';
    public const byte PaxExtended = (byte)'x';
    public const byte PaxGlobal = (byte)'g';
    public const byte OldGnuSparse = (byte)'S';

    private const int NameOffset = 0, NameLength = 100;
    private const int SizeOffset = 124, SizeLength = 12;
    private const int ChecksumOffset = 148, ChecksumLength = 8;
    private const int TypeOffset = 156;
    private const int LinkOffset = 157, LinkLength = 100;
    private const int MagicOffset = 257;
    private const int PrefixOffset = 345, PrefixLength = 155;

    public static byte Type(ReadOnlySpan<byte> header) => header[TypeOffset];

    /// <summary>True for the headers whose data TarReader reads whole into memory: 'x', 'g', 'L', 'K'.</summary>
    public static bool IsMetadata(byte type) => type is PaxExtended or PaxGlobal or LongName or LongLink;

    /// <summary>TarReader's end-of-archive test: the checksum field is all NULs or parses to 0. Null: the field is not octal (TarReader throws).</summary>
    public static bool? IsEndMarker(ReadOnlySpan<byte> header)
    {
        var field = header.Slice(ChecksumOffset, ChecksumLength);
        if (!field.ContainsAnyExcept((byte)0))
        {
            return true;
        }
        return ParseOctal(field) is { } value ? value == 0 : null;
    }

    /// <summary>
    /// The size field: octal (NUL-terminated, space-trimmed) or GNU base-256 (leading 0x80). Saturates at
    /// <see cref="long.MaxValue"/>. Null when malformed or negative (a leading 0xFF), where TarReader throws.
    /// </summary>
    public static long? ParseSize(ReadOnlySpan<byte> header)
    {
        var field = header.Slice(SizeOffset, SizeLength);
        if (field[0] == 0xff)
        {
            return null;
        }
        if (field[0] != 0x80)
        {
            return ParseOctal(field);
        }
        long value = 0;
        foreach (var b in field[1..])
        {
            if (value > (long.MaxValue >> 8))
            {
                return long.MaxValue;
            }
            value = (value << 8) | b;
        }
        return value;
    }

    /// <summary>The size rounded up to whole blocks; callers bound <paramref name="size"/> first.</summary>
    public static long Padded(long size) => (size + Size - 1) / Size * Size;

    /// <summary>The entry's path from the header alone: ustar prefix + "/" + name, or the name.</summary>
    public static string Name(ReadOnlySpan<byte> header)
    {
        var name = CString(header.Slice(NameOffset, NameLength));
        var ustar = header.Slice(MagicOffset, 6).SequenceEqual("ustar\0"u8);
        var prefix = ustar ? CString(header.Slice(PrefixOffset, PrefixLength)) : "";
        return prefix.Length > 0 ? $"{prefix}/{name}" : name;
    }

    public static string LinkName(ReadOnlySpan<byte> header) => CString(header.Slice(LinkOffset, LinkLength));

    /// <summary>Bytes up to the first NUL, as UTF-8.</summary>
    public static string CString(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }

    /// <summary>
    /// Go's archive/tar test for a header block (what Docker's <c>ADD</c> uses to decide a file is a tar):
    /// not all zeros, and the checksum field (trimmed of spaces and NULs, octal) equals the unsigned or the
    /// signed sum of the block with that field counted as spaces. Every ustar, GNU and V7 header passes.
    /// </summary>
    public static bool LooksLikeTarHeader(ReadOnlySpan<byte> block)
    {
        if (block.Length < Size || !block[..Size].ContainsAnyExcept((byte)0))
        {
            return false;
        }
        var field = block.Slice(ChecksumOffset, ChecksumLength).Trim(" \0"u8);
        var nul = field.IndexOf((byte)0);
        field = nul < 0 ? field : field[..nul];
        long stored = 0;
        foreach (var b in field)
        {
            if (b is < (byte)'0' or > (byte)'7')
            {
                return false;
            }
            stored = stored * 8 + (b - '0');
        }
        long unsigned = 0, signed = 0;
        for (var i = 0; i < Size; i++)
        {
            var b = i is >= ChecksumOffset and < ChecksumOffset + ChecksumLength ? (byte)' ' : block[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        return stored == unsigned || stored == signed;
    }

    /// <summary>
    /// Reads PAX records ("LENGTH KEY=VALUE\n") exactly as TarReader does and returns the three that
    /// matter here. False when TarReader would refuse the block: a record it cannot parse, or bytes
    /// left after the last one; also false when path, linkpath or size appears twice.
    /// </summary>
    public static bool TryParsePax(ReadOnlySpan<byte> data, out PaxFields fields)
    {
        fields = new PaxFields(null, null, null);
        while (TryNextRecord(ref data, out var key, out var value))
        {
            var duplicate = false;
            if (key.SequenceEqual("path"u8))
            {
                duplicate = fields.Path is not null;
                fields = fields with { Path = Encoding.UTF8.GetString(value) };
            }
            else if (key.SequenceEqual("linkpath"u8))
            {
                duplicate = fields.LinkPath is not null;
                fields = fields with { LinkPath = Encoding.UTF8.GetString(value) };
            }
            else if (key.SequenceEqual("size"u8))
            {
                duplicate = fields.Size is not null;
                fields = fields with { Size = Encoding.UTF8.GetString(value) };
            }
            if (duplicate)
            {
                return false;
            }
        }
        return data.IsEmpty;
    }

    /// <summary>TarReader's reading of a PAX "size" value: absent or empty keeps the header's size; otherwise a non-negative decimal long.</summary>
    public static bool TryPaxSize(string? value, out long? size)
    {
        size = null;
        if (string.IsNullOrEmpty(value))
        {
            return true;
        }
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) && parsed >= 0)
        {
            size = parsed;
            return true;
        }
        return false;
    }

    private static bool TryNextRecord(ref ReadOnlySpan<byte> data, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        key = value = default;
        var newline = data.IndexOf((byte)'\n');
        if (newline < 0)
        {
            return false;
        }
        var line = data[..newline];
        var space = line.IndexOf((byte)' ');
        if (space < 0
            || !int.TryParse(line[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            || length != line.Length + 1)
        {
            return false;
        }
        line = line[(space + 1)..];
        var equals = line.IndexOf((byte)'=');
        if (equals < 0)
        {
            return false;
        }
        key = line[..equals];
        value = line[(equals + 1)..];
        data = data[(newline + 1)..];
        return true;
    }

    /// <summary>System.Formats.Tar's octal: cut at the first NUL, trim spaces, digits 0-7 only. Null when malformed.</summary>
    private static long? ParseOctal(ReadOnlySpan<byte> field)
    {
        var nul = field.IndexOf((byte)0);
        field = (nul < 0 ? field : field[..nul]).Trim((byte)' ');
        long value = 0;
        foreach (var b in field)
        {
            if (b is < (byte)'0' or > (byte)'7')
            {
                return null;
            }
            value = value * 8 + (b - '0');
        }
        return value;
    }
}

/// <summary>The PAX records Berth reads: the entry's path, link target and size override (raw strings).</summary>
internal readonly record struct PaxFields(string? Path, string? LinkPath, string? Size);
