using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Berth.Server.Tests.Contexts;

/// <summary>Hand-made tar blocks (any type, any size field), lazily generated archives that are never held in memory, and well-formed ones.</summary>
internal static class RawTar
{
    public const long Mb = 1024 * 1024;

    /// <summary>A PAX tar of <paramref name="entries"/> as TarWriter writes it, positioned at its start.</summary>
    public static MemoryStream Of(params TarEntry[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
        }
        stream.Position = 0;
        return stream;
    }

    public static byte[] Header(char type, string name, long size, string linkName = "") => Header(type, name, Octal(size), linkName);

    public static byte[] Header(char type, string name, byte[] sizeField, string linkName = "")
    {
        var h = new byte[512];
        Encoding.UTF8.GetBytes(name).CopyTo(h, 0);
        "0000644\0"u8.CopyTo(h.AsSpan(100));
        "0000000\0"u8.CopyTo(h.AsSpan(108));
        "0000000\0"u8.CopyTo(h.AsSpan(116));
        sizeField.CopyTo(h, 124);
        "14712345670\0"u8.CopyTo(h.AsSpan(136));
        h[156] = (byte)type;
        Encoding.UTF8.GetBytes(linkName).CopyTo(h, 157);
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        return WithChecksum(h);
    }

    public static byte[] WithChecksum(byte[] h)
    {
        "        "u8.CopyTo(h.AsSpan(148));
        var sum = h.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(h, 148);
        return h;
    }

    public static byte[] Octal(long size) => Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0");

    /// <summary>GNU base-256: 0x80, then the value big-endian in the 11 bytes left.</summary>
    public static byte[] Base256(long size)
    {
        var field = new byte[12];
        field[0] = 0x80;
        for (var i = 11; i > 0 && size > 0; i--, size >>= 8)
        {
            field[i] = (byte)size;
        }
        return field;
    }

    public static byte[] Padded(byte[] data)
    {
        var padded = new byte[(data.Length + 511) / 512 * 512];
        data.CopyTo(padded, 0);
        return padded;
    }

    /// <summary>A PAX 'x' header and its records, padded.</summary>
    public static byte[] Pax(params (string Key, string Value)[] records) => PaxRaw(string.Concat(records.Select(r => Record(r.Key, r.Value))));

    public static byte[] PaxRaw(string records, char type = 'x')
    {
        var data = Encoding.UTF8.GetBytes(records);
        return [.. Header(type, "PaxHeader", data.Length), .. Padded(data)];
    }

    /// <summary>"LENGTH key=value\n", LENGTH counting its own digits.</summary>
    public static string Record(string key, string value)
    {
        var body = $" {key}={value}\n";
        var bodyLength = Encoding.UTF8.GetByteCount(body);
        var length = bodyLength + 1;
        while (bodyLength + $"{length}".Length != length)
        {
            length = bodyLength + $"{length}".Length;
        }
        return $"{length}{body}";
    }

    public static byte[] File(string name, string content) => [.. Header('0', name, Encoding.UTF8.GetByteCount(content)), .. Padded(Encoding.UTF8.GetBytes(content))];

    public static MemoryStream Blocks(params byte[][] parts) => new([.. parts.SelectMany(p => p), .. new byte[1024]]);

    public static MemoryStream Tar(TarEntryFormat format, params TarEntry[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, format, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
        }
        stream.Position = 0;
        return stream;
    }

    public static byte[] Gzip(byte[] data, CompressionLevel level = CompressionLevel.SmallestSize)
    {
        var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, level, leaveOpen: true))
        {
            zip.Write(data);
        }
        return gz.ToArray();
    }

    /// <summary>A header block, then <paramref name="zeros"/> zero bytes produced on demand.</summary>
    public static LazyStream Bomb(byte[] header, long zeros) => new(header, new byte[64 * 1024], zeros / (64 * 1024));

    /// <summary>
    /// The same as a gzip: one gzip member holding the header, then one member of 1 MiB of zeros repeated
    /// (gzip readers read concatenated members as one stream). About 1 KiB on the wire per MiB unpacked.
    /// </summary>
    public static LazyStream GzipBomb(byte[] header, long zerosMb) => new(Gzip(header), Gzip(new byte[Mb]), zerosMb);
}

/// <summary>A read-only stream of <c>head</c> then <c>count</c> copies of <c>repeated</c>, generated as read; counts what was read.</summary>
internal sealed class LazyStream(byte[] head, byte[] repeated, long count) : Stream
{
    private long _position;

    public long BytesRead => _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => head.Length + repeated.Length * count;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int length) => Read(buffer.AsSpan(offset, length));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= Length || buffer.IsEmpty)
        {
            return 0;
        }
        var (source, at) = _position < head.Length
            ? (head, (int)_position)
            : (repeated, (int)((_position - head.Length) % repeated.Length));
        var n = Math.Min(buffer.Length, source.Length - at);
        source.AsSpan(at, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
