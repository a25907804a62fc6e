using Berth.Scanner.Layers;
using Berth.Server.Errors;
using Berth.Scanner;

namespace Berth.Server.Contexts;

/// <summary>
/// Sits between an uploaded (decompressed) tar and TarReader and follows the tar's block structure as the
/// bytes pass, so every header is checked BEFORE TarReader sees it. TarReader reads the data of a PAX
/// ('x', 'g') or GNU long-name/long-link ('L', 'K') header whole into memory: a header claiming 400 MB
/// would take 400 MB of server memory. This stream refuses (413) such a header over
/// <see cref="MaxMetadataBytes"/>, counts every header block, payload and padding against the byte budget,
/// counts every entry ('g' included) against the entry limit, and accepts only the header sequences TarReader
/// accepts (a PAX 'x' right before its entry; 'L' and/or 'K', once each, right before theirs).
/// Nothing passes after the end-of-archive block.
/// </summary>
internal sealed class TarGuardStream(Stream inner, long maxBytes, int maxEntries) : ReadOnlyStream
{
    /// <summary>The largest PAX ('x', 'g') or GNU long-name/long-link ('L', 'K') payload accepted: 64 KiB, 16 times Linux's PATH_MAX.</summary>
    public const int MaxMetadataBytes = 64 * 1024;

    private readonly byte[] _header = new byte[TarBlock.Size];
    private int _headerFilled;
    private long _dataLeft;
    private byte[]? _pax;
    private int _paxLength = -1;
    private int _paxFilled;
    private long? _paxSize;
    private byte _pending; // the metadata headers read since the last entry: 'x', 'L', 'K', or 'L' + 'K' as 1
    private bool _ended;

    /// <summary>Bytes of the tar accounted so far: headers, payloads and padding, each entry's data counted when its header passes.</summary>
    public long Bytes { get; private set; }

    public int Entries { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_ended || buffer.IsEmpty)
        {
            return 0;
        }
        var read = await inner.ReadAsync(buffer, cancellationToken);
        return Inspect(buffer.Span[..read]);
    }

    /// <summary>Follows the blocks in <paramref name="chunk"/>; returns how many of its bytes may pass (all, unless the archive ended in it).</summary>
    private int Inspect(ReadOnlySpan<byte> chunk)
    {
        var at = 0;
        while (at < chunk.Length && !_ended)
        {
            if (_dataLeft > 0)
            {
                var take = (int)Math.Min(_dataLeft, chunk.Length - at);
                CollectPax(chunk.Slice(at, take));
                _dataLeft -= take;
                at += take;
                continue;
            }
            var part = Math.Min(TarBlock.Size - _headerFilled, chunk.Length - at);
            chunk.Slice(at, part).CopyTo(_header.AsSpan(_headerFilled));
            _headerFilled += part;
            at += part;
            if (_headerFilled == TarBlock.Size)
            {
                _headerFilled = 0;
                OnHeader(_header);
            }
        }
        return at;
    }

    private void OnHeader(ReadOnlySpan<byte> header)
    {
        switch (TarBlock.IsEndMarker(header))
        {
            case null:
                throw Unreadable("a header has an invalid checksum field");
            case true:
                _ended = true;
                Count(TarBlock.Size);
                return;
        }
        var type = TarBlock.Type(header);
        var size = TarBlock.ParseSize(header) ?? throw Unreadable("a header has an invalid or negative size field");
        if (type == TarBlock.OldGnuSparse)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, "the context holds an old-GNU sparse file ('S' entry); only files, directories and links are allowed");
        }
        CheckSequence(type);
        if (TarBlock.IsMetadata(type) && size > MaxMetadataBytes)
        {
            throw new RequestRejectedException(Rejection.TooLarge,
                $"the context holds a {Describe(type)} tar header of {size} bytes; such headers are limited to {MaxMetadataBytes / 1024} KiB: refusing a tar header bomb");
        }
        var dataSize = type is TarBlock.PaxExtended or TarBlock.LongName or TarBlock.LongLink ? size : _paxSize ?? size;
        if (dataSize > maxBytes)
        {
            throw OverBudget();
        }
        Count(TarBlock.Size + TarBlock.Padded(dataSize));
        _dataLeft = TarBlock.Padded(dataSize);

        if (type is TarBlock.PaxExtended or TarBlock.LongName or TarBlock.LongLink)
        {
            _pending = _pending == 0 ? type : (byte)1;
            if (type == TarBlock.PaxExtended)
            {
                _pax ??= new byte[MaxMetadataBytes];
                _paxLength = (int)size;
                _paxFilled = 0;
                ParsePaxIfComplete();
            }
            return;
        }
        _pending = 0;
        _paxSize = null;
        if (++Entries > maxEntries)
        {
            throw new RequestRejectedException(Rejection.TooLarge, $"the context has more than {maxEntries} entries (Limits:MaxContextFiles)");
        }
    }

    /// <summary>The metadata sequences TarReader accepts; anything else it would refuse or misread, so refuse it here.</summary>
    private void CheckSequence(byte type)
    {
        var allowed = _pending switch
        {
            0 => true,
            TarBlock.PaxExtended => !TarBlock.IsMetadata(type),
            TarBlock.LongName => type == TarBlock.LongLink || !TarBlock.IsMetadata(type),
            TarBlock.LongLink => type == TarBlock.LongName || !TarBlock.IsMetadata(type),
            _ => !TarBlock.IsMetadata(type), // 'L' and 'K' both seen
        };
        if (!allowed)
        {
            throw Unreadable($"a '{(char)type}' header follows metadata headers in an order tar readers do not accept");
        }
    }

    private void CollectPax(ReadOnlySpan<byte> data)
    {
        if (_paxLength < 0)
        {
            return;
        }
        var part = Math.Min(_paxLength - _paxFilled, data.Length);
        data[..part].CopyTo(_pax.AsSpan(_paxFilled));
        _paxFilled += part;
        ParsePaxIfComplete();
    }

    private void ParsePaxIfComplete()
    {
        if (_paxFilled < _paxLength)
        {
            return;
        }
        var length = _paxLength;
        _paxLength = -1;
        if (!TarBlock.TryParsePax(_pax.AsSpan(0, length), out var fields) || !TarBlock.TryPaxSize(fields.Size, out var size))
        {
            throw Unreadable("a PAX extended header holds malformed or duplicate records");
        }
        _paxSize = size;
    }

    private void Count(long bytes)
    {
        Bytes += bytes;
        if (Bytes > maxBytes)
        {
            throw OverBudget();
        }
    }

    private RequestRejectedException OverBudget() =>
        new(Rejection.TooLarge, $"the unpacked context exceeds {Units.ToMebibytes(maxBytes)} MiB (Limits:MaxContextMb)");

    private static RequestRejectedException Unreadable(string why) =>
        new(Rejection.BadRequest, $"the context is not a readable .tar or .tar.gz archive: {why}");

    private static string Describe(byte type) => type switch
    {
        TarBlock.LongName => "GNU long-name ('L')",
        TarBlock.LongLink => "GNU long-link ('K')",
        TarBlock.PaxExtended => "PAX extended ('x')",
        _ => "PAX global ('g')",
    };
}
