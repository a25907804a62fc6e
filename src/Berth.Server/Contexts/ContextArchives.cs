using System.Buffers;
using System.IO.Compression;

namespace Berth.Server.Contexts;

/// <summary>
/// Finds the files of a packed build context that Docker's <c>ADD</c> would unpack instead of copy: a local
/// file is unpacked when, after gzip, bzip2, xz (or zstd) decompression, it starts with a tar header
/// (moby's <c>archive.IsArchivePath</c>: <c>DetectCompression</c>, then <c>tar.Reader.Next</c>).
/// Reads only headers and the start of each file; never throws on a malformed tar.
/// </summary>
internal static class ContextArchives
{
    /// <summary>How much of a gzipped file is inflated to reach its first 512 bytes; past it, the file counts as an archive.</summary>
    private const int GzipWindow = 64 * 1024;
    private const int MaxLinkHops = 40;
    private const long MaxDataSize = 1L << 60; // larger sizes only come from a malformed header; they would overflow the padding

    /// <summary>
    /// Context-relative paths (no leading "./") of the regular files whose content is such an archive, then
    /// of the hard and symbolic links that resolve to one. Stops at the first malformed header and returns what it found.
    /// Paths reached through a symlinked directory (<c>dirlink/a.tar</c>) are not listed.
    /// </summary>
    public static IReadOnlyList<string> Find(Stream contextTar, CancellationToken cancellationToken)
    {
        var archives = new List<string>();
        var links = new Dictionary<string, string>(StringComparer.Ordinal); // link path -> resolved target path
        var header = new byte[TarBlock.Size];
        var window = ArrayPool<byte>.Shared.Rent(GzipWindow);
        try
        {
            string? longName = null, longLink = null;
            PaxFields pax = default;
            while (Fill(contextTar, header) == TarBlock.Size && TarBlock.IsEndMarker(header) == false)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var type = TarBlock.Type(header);
                if (TarBlock.ParseSize(header) is not { } size || (TarBlock.IsMetadata(type) && size > TarGuardStream.MaxMetadataBytes))
                {
                    break;
                }
                if (TarBlock.IsMetadata(type))
                {
                    var data = window.AsSpan(0, (int)size);
                    if (Fill(contextTar, data) < size || (type == TarBlock.PaxExtended && !TarBlock.TryParsePax(data, out pax)))
                    {
                        break;
                    }
                    longName = type == TarBlock.LongName ? TarBlock.CString(data) : longName;
                    longLink = type == TarBlock.LongLink ? TarBlock.CString(data) : longLink;
                    Skip(contextTar, TarBlock.Padded(size) - size);
                    continue;
                }
                if (!TarBlock.TryPaxSize(pax.Size, out var paxSize))
                {
                    break;
                }
                var dataSize = paxSize ?? size;
                if (dataSize > MaxDataSize)
                {
                    break;
                }
                var name = Normalize(pax.Path ?? longName ?? TarBlock.Name(header));
                var target = pax.LinkPath ?? longLink ?? TarBlock.LinkName(header);
                (pax, longName, longLink) = (default, null, null);

                var used = 0;
                if (type is (byte)'0' or 0 or (byte)'7')
                {
                    used = Fill(contextTar, window.AsSpan(0, (int)Math.Min(dataSize, GzipWindow)));
                    if (IsArchive(window.AsSpan(0, used), complete: used == dataSize))
                    {
                        archives.Add(name);
                    }
                }
                else if (type is (byte)'1' or (byte)'2' && name.Length > 0)
                {
                    var directory = type == '2' && !target.StartsWith('/') ? Parent(name) : "";
                    links[name] = Normalize(directory.Length == 0 ? target : $"{directory}/{target}");
                }
                Skip(contextTar, TarBlock.Padded(dataSize) - used);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
        }
        return [.. archives, .. LinksTo(archives, links)];
    }

    /// <summary>
    /// Whether a file starting with <paramref name="head"/> is unpacked by <c>ADD</c>: a tar header (valid
    /// checksum, or "ustar" at offset 257), bzip2, xz or zstd data (not looked into: they always count), or gzip
    /// data that inflates to a tar header. <paramref name="complete"/>: <paramref name="head"/> is the whole file.
    /// </summary>
    internal static bool IsArchive(ReadOnlySpan<byte> head, bool complete)
    {
        if (TarBlock.LooksLikeTarHeader(head) || (head.Length >= TarBlock.Size && head.Slice(257, 5).SequenceEqual("ustar"u8)))
        {
            return true;
        }
        if (head.StartsWith("BZh"u8) || head.StartsWith((ReadOnlySpan<byte>)[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) || head.StartsWith((ReadOnlySpan<byte>)[0x28, 0xB5, 0x2F, 0xFD]))
        {
            return true;
        }
        if (head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]))
        {
            var inflated = new byte[TarBlock.Size];
            var (count, clean) = Inflate(head, inflated);
            // Fewer than 512 bytes: Docker's tar reader fails too, unless there was more input than we looked at.
            return count == TarBlock.Size ? TarBlock.LooksLikeTarHeader(inflated) : !(complete && clean);
        }
        return false;
    }

    private static (int Count, bool Clean) Inflate(ReadOnlySpan<byte> gzip, byte[] into)
    {
        try
        {
            using var inflater = new GZipStream(new MemoryStream(gzip.ToArray(), writable: false), CompressionMode.Decompress);
            return (inflater.ReadAtLeast(into, into.Length, throwOnEndOfStream: false), true);
        }
        catch (InvalidDataException)
        {
            return (0, false);
        }
    }

    /// <summary>Links whose chain of targets ends at an archive, in the order they appeared.</summary>
    private static IEnumerable<string> LinksTo(List<string> archives, Dictionary<string, string> links)
    {
        var found = archives.ToHashSet(StringComparer.Ordinal);
        foreach (var (link, first) in links)
        {
            var target = first;
            for (var hop = 0; hop < MaxLinkHops && !found.Contains(target) && links.TryGetValue(target, out var next); hop++)
            {
                target = next;
            }
            if (found.Contains(target) && !archives.Contains(link, StringComparer.Ordinal))
            {
                yield return link;
            }
        }
    }

    /// <summary>A path relative to the context root: no leading "/" or "./", "." dropped, ".." applied (never above the root).</summary>
    internal static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }
        return string.Join('/', parts);
    }

    private static string Parent(string path) => path.LastIndexOf('/') is var slash and > 0 ? path[..slash] : "";

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the count.</summary>
    private static int Fill(Stream stream, Span<byte> buffer) => stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    private static void Skip(Stream stream, long count)
    {
        if (count <= 0)
        {
            return;
        }
        if (stream.CanSeek)
        {
            stream.Seek(count, SeekOrigin.Current);
            return;
        }
        var scrap = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (count > 0 && stream.Read(scrap, 0, (int)Math.Min(count, scrap.Length)) is var n and > 0)
            {
                count -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scrap);
        }
    }
}
