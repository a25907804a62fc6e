using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Berth.Scanner.Layers;
using Berth.Server.Errors;
using Berth.Scanner;

namespace Berth.Server.Contexts;

/// <summary>
/// Checks an uploaded build context (<c>.tar</c> or <c>.tar.gz</c>) entry by entry and writes the
/// tar the engine builds from: the context's entries plus the job's Dockerfile at <c>Dockerfile</c>.
/// Refuses absolute paths, <c>..</c>, links that leave the context, devices and FIFOs, and archives
/// over the size, entry-count or compression-ratio limits; <see cref="TarGuardStream"/> checks every
/// header before TarReader reads it (tar header bombs). Never extracts anything to disk.
/// </summary>
public static class BuildContextPacker
{
    public const string DockerfileName = "Dockerfile";
    public const int MaxDockerfileBytes = 1024 * 1024;

    /// <summary>Writes the build tar to <paramref name="destination"/>. Returns the Dockerfile used.</summary>
    /// <param name="dockerfile">The Dockerfile given apart from the context; it wins over one inside it. Null: take the context's.</param>
    public static async Task<string> PackAsync(
        string? dockerfile, Stream? context, Stream destination, long maxBytes, int maxEntries, int maxRatio, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(destination, TarEntryFormat.Pax, leaveOpen: true);
        string? fromContext = null;
        if (context is not null)
        {
            fromContext = await CopyEntriesAsync(context, writer, maxBytes, maxEntries, maxRatio, cancellationToken);
        }
        var text = dockerfile ?? fromContext
            ?? throw new RequestRejectedException(Rejection.BadRequest, "no Dockerfile: send a 'dockerfile' part or put a Dockerfile at the root of the context");
        var bytes = Encoding.UTF8.GetBytes(text);
        var entry = new PaxTarEntry(TarEntryType.RegularFile, DockerfileName)
        {
            DataStream = new MemoryStream(bytes),
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        };
        await writer.WriteEntryAsync(entry, cancellationToken);
        return text;
    }

    private static async Task<string?> CopyEntriesAsync(Stream context, TarWriter writer, long maxBytes, int maxEntries, int maxRatio, CancellationToken cancellationToken)
    {
        var counted = new CountingStream(context);
        var buffered = new BufferedStream(counted, 64 * 1024);
        var magic = new byte[2];
        var read = await buffered.ReadAtLeastAsync(magic, 2, throwOnEndOfStream: false, cancellationToken);
        if (read == 0)
        {
            throw new RequestRejectedException(Rejection.BadRequest, "the context archive is empty");
        }
        // BufferedStream cannot un-read: rebuild a stream that starts with the two peeked bytes.
        Stream payload = new PrefixedStream(magic.AsMemory(0, read), buffered);
        var gzipped = read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        if (gzipped)
        {
            payload = new GZipStream(payload, CompressionMode.Decompress);
        }

        string? dockerfile = null;
        var entries = 0;
        // The guard enforces the byte budget and the entry limit on the raw tar, headers included.
        var guard = new TarGuardStream(payload, maxBytes, maxEntries);
        var links = new LinkBudget();
        try
        {
            using var reader = new TarReader(guard, leaveOpen: true);
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
                {
                    continue;
                }
                entries++;
                var name = NormalizeName(entry.Name);
                CheckType(entry, name);
                links.Add(entry, name);
                var total = guard.Bytes;
                if (gzipped && total > 1024 * 1024 && total > (long)maxRatio * Math.Max(1, counted.BytesRead))
                {
                    throw new RequestRejectedException(Rejection.TooLarge, $"the context unpacks to more than {maxRatio} times its compressed size (Limits:MaxCompressionRatio): refusing a decompression bomb");
                }
                if (name.Length == 0)
                {
                    continue; // the root directory itself ("./")
                }
                if (name == DockerfileName && entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                {
                    if (entry.Length > MaxDockerfileBytes)
                    {
                        throw new RequestRejectedException(Rejection.Unprocessable, "the context's Dockerfile exceeds 1 MiB");
                    }
                    using var sr = new StreamReader(entry.DataStream ?? Stream.Null, Encoding.UTF8);
                    dockerfile = await sr.ReadToEndAsync(cancellationToken);
                    continue; // written last, by the caller: the job's Dockerfile wins
                }
                var copy = CopyOf(entry, name);
                await writer.WriteEntryAsync(copy, cancellationToken);
            }
        }
        catch (RequestRejectedException)
        {
            throw;
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException
            or InvalidOperationException or OverflowException or NotSupportedException)
        {
            throw new RequestRejectedException(Rejection.BadRequest, $"the context is not a readable .tar or .tar.gz archive: {e.Message}");
        }
        if (entries == 0)
        {
            throw new RequestRejectedException(Rejection.BadRequest, "the context archive holds no entries (or is not a .tar or .tar.gz archive)");
        }
        links.Check(guard.Bytes, maxBytes);
        return dockerfile;
    }

    /// <summary>Entry name relative to the context root, without "./"; refuses absolute paths and "..".</summary>
    internal static string NormalizeName(string raw)
    {
        if (raw.Contains('\0', StringComparison.Ordinal))
        {
            throw new RequestRejectedException(Rejection.Unprocessable, "context entry name contains a NUL byte");
        }
        if (raw.StartsWith('/'))
        {
            throw new RequestRejectedException(Rejection.Unprocessable, $"context entry '{Ellipsis.Truncate(raw, 120)}' has an absolute path");
        }
        var parts = new List<string>();
        foreach (var part in raw.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                throw new RequestRejectedException(Rejection.Unprocessable, $"context entry '{Ellipsis.Truncate(raw, 120)}' contains '..'");
            }
            parts.Add(part);
        }
        return string.Join('/', parts);
    }

    private static void CheckType(TarEntry entry, string name)
    {
        switch (entry.EntryType)
        {
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile or TarEntryType.Directory:
                return;
            case TarEntryType.SymbolicLink:
                if (!StaysInside(name, entry.LinkName, relativeToEntryDirectory: true))
                {
                    throw new RequestRejectedException(Rejection.Unprocessable, $"context entry '{Ellipsis.Truncate(name, 120)}' is a link pointing outside the context ('{Ellipsis.Truncate(entry.LinkName, 120)}')");
                }
                return;
            case TarEntryType.HardLink:
                if (!StaysInside(name, entry.LinkName, relativeToEntryDirectory: false))
                {
                    throw new RequestRejectedException(Rejection.Unprocessable, $"context entry '{Ellipsis.Truncate(name, 120)}' is a hard link pointing outside the context ('{Ellipsis.Truncate(entry.LinkName, 120)}')");
                }
                return;
            default:
                throw new RequestRejectedException(Rejection.Unprocessable, $"context entry '{Ellipsis.Truncate(name, 120)}' is a {entry.EntryType} entry; only files, directories and links inside the context are allowed");
        }
    }

    /// <summary>True when a link target, resolved lexically, stays inside the context root.</summary>
    internal static bool StaysInside(string name, string target, bool relativeToEntryDirectory)
    {
        if (string.IsNullOrEmpty(target) || target.StartsWith('/') || target.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }
        var stack = new List<string>();
        if (relativeToEntryDirectory)
        {
            stack.AddRange(name.Split('/')[..^1]);
        }
        foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (stack.Count == 0)
                {
                    return false;
                }
                stack.RemoveAt(stack.Count - 1);
                continue;
            }
            stack.Add(part);
        }
        return true;
    }

    private static PaxTarEntry CopyOf(TarEntry entry, string name)
    {
        var copy = new PaxTarEntry(entry.EntryType is TarEntryType.V7RegularFile or TarEntryType.ContiguousFile ? TarEntryType.RegularFile : entry.EntryType, name)
        {
            Mode = entry.Mode,
            ModificationTime = entry.ModificationTime,
            Uid = entry.Uid,
            Gid = entry.Gid,
        };
        if (copy.EntryType is TarEntryType.RegularFile)
        {
            copy.DataStream = entry.DataStream;
        }
        else if (entry.EntryType is TarEntryType.SymbolicLink)
        {
            copy.LinkName = entry.LinkName;
        }
        else if (entry.EntryType is TarEntryType.HardLink)
        {
            copy.LinkName = NormalizeName(entry.LinkName);
        }
        return copy;
    }


    /// <summary>Counts the bytes read through it (the compressed size of a gzipped context).</summary>
    private sealed class CountingStream(Stream inner) : ReadOnlyStream
    {
        public long BytesRead { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += n;
            return n;
        }
    }
}
