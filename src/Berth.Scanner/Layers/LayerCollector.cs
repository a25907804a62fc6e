using System.Buffers;
using Berth.Scanner.Catalogers;
using Berth.Scanner.Catalogers.Go;
using Berth.Scanner.Catalogers.Os;
using Berth.Scanner.Secrets;

namespace Berth.Scanner.Layers;

/// <summary>What a layer entry is, as far as a scan cares.</summary>
public enum EntryKind
{
    File,
    Directory,
    SymbolicLink,
    HardLink,
    Other,
}

/// <summary>
/// Turns a layer's entries (from a tar stream or an overlay2 directory, in any order) into a
/// <see cref="LayerIndex"/>. The one place that decides what is kept, what is refused and why.
/// </summary>
/// <param name="whiteoutNames">True for a tar layer, where <c>.wh.</c> entries are whiteouts; false for an overlay2
/// directory, where only 0/0 devices and the opaque attribute are (the reader reports those itself).</param>
internal sealed class LayerCollector(LayerIndex index, ScanBudget budget, bool secrets, bool whiteoutNames = true)
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    /// <summary>os-release and friends are a few hundred bytes; anything larger is ignored like a missing file.</summary>
    private const long MaxReleaseFileBytes = 64 * 1024;

    /// <summary>A wheel's RECORD lists every installed file (megabytes for large packages); its first 64 KiB say all a scan needs.</summary>
    private const long MaxRecordPrefixBytes = 64 * 1024;

    public LayerIndex Index => index;

    /// <summary>An executable smaller than this is not a Go program (the smallest, a stripped hello world, is over 1 MiB).</summary>
    private const long MinGoBinaryBytes = 512 * 1024;

    /// <summary>
    /// Handles one entry; <paramref name="open"/> gives its content (called at most once; the caller disposes it).
    /// <paramref name="executable"/>: a regular file with an execute bit, which may be a Go program.
    /// </summary>
    public async Task AddAsync(string path, EntryKind kind, long size, Func<Stream> open, CancellationToken cancellationToken, bool executable = false)
    {
        budget.CountEntry();
        index.Entries++;
        var slash = path.LastIndexOf('/');
        var name = path[(slash + 1)..];
        var dir = slash < 0 ? "" : path[..slash];
        if (whiteoutNames && name == OpaqueMarker)
        {
            Opaque(dir);
            return;
        }
        if (whiteoutNames && name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            var target = name[WhiteoutPrefix.Length..];
            if (target is "" or "." or "..")
            {
                index.Problems.Add($"/{path} is a whiteout with no file name (layer {index.Layer}): it would hide the whole image from a scanner");
                return;
            }
            Delete(dir.Length == 0 ? target : $"{dir}/{target}");
            return;
        }
        if (kind != EntryKind.Directory && PackageManagers.IsManager(path))
        {
            index.Managers.Add(path);
        }
        if (kind is EntryKind.SymbolicLink or EntryKind.HardLink or EntryKind.Other)
        {
            // A link where a lower layer had a directory hides everything below it (and may lead to where the real
            // files now are): what lower layers had there is gone from the image.
            index.Deleted.Add(path);
        }
        if (DistroReader.Wants(path))
        {
            if (kind == EntryKind.File && size <= MaxReleaseFileBytes && budget.TryTake(size))
            {
                index.Files[path] = await ReadAsync(open, size, cancellationToken);
            }
            else
            {
                Delete(path); // a link (Debian's /etc/os-release is one) or an odd file hides what lower layers had
            }
            return;
        }
        if (!DefaultCatalogers.Wanted(path))
        {
            if (kind == EntryKind.File && executable && size >= MinGoBinaryBytes)
            {
                if (GoBuildInfoReader.TryRead(open(), cancellationToken) is { } info)
                {
                    if (budget.TryTake(LayerIndex.GoInfoBytes(info)))
                    {
                        index.GoBinaries[path] = info;
                    }
                    else
                    {
                        Refuse(path, $"a Go program whose build information is over the {Megabytes(budget.Limits.MaxTotalBytes)} a scan reads in all (Scan:MaxTotalMb)");
                        index.Cacheable = false;
                    }
                }
                else
                {
                    index.Deleted.Add(path); // hides a Go program a lower layer had at this path
                }
                return; // a program is not searched for secrets (binary)
            }
            if (secrets && kind == EntryKind.File)
            {
                await SearchSecretsAsync(path, size, null, open, cancellationToken);
            }
            return;
        }
        if (kind == EntryKind.Directory && path.EndsWith(".egg-info", StringComparison.Ordinal))
        {
            return; // an egg-info is a file or, as setuptools and Debian's python3-* packages install it, a directory whose PKG-INFO is read
        }
        if (kind == EntryKind.File && path.EndsWith(".dist-info/RECORD", StringComparison.Ordinal))
        {
            // Only its presence and first lines matter (a wheel install without METADATA): a prefix is enough.
            var prefix = Math.Min(size, MaxRecordPrefixBytes);
            if (budget.TryTake(prefix))
            {
                var head = await ReadAsync(open, prefix, cancellationToken);
                var end = prefix < size ? Array.LastIndexOf(head, (byte)'\n') + 1 : head.Length; // whole lines only
                index.Files[path] = end > 0 ? head[..end] : head;
                index.Unreadable.Remove(path);
            }
            return;
        }
        var cap = DefaultCatalogers.IsOsDatabase(path) || IsLockfile(path) ? budget.Limits.MaxDatabaseBytes : budget.Limits.MaxMetadataBytes;
        string? refused = kind switch
        {
            EntryKind.File when size > cap => $"larger than the {Megabytes(cap)} a package file may have (Scan:MaxFileMb)",
            EntryKind.File => null,
            EntryKind.SymbolicLink => "a symbolic link",
            EntryKind.HardLink => "a hard link",
            EntryKind.Directory => "a directory",
            _ => "not a regular file",
        };
        if (refused is null && !budget.TryTake(size))
        {
            refused = $"over the {Megabytes(budget.Limits.MaxTotalBytes)} a scan reads in all (Scan:MaxTotalMb)";
            index.Cacheable = false; // another scan, with budget left, would read it
        }
        if (refused is null)
        {
            var content = await ReadAsync(open, size, cancellationToken);
            index.Files[path] = content;
            index.Unreadable.Remove(path);
            if (secrets)
            {
                var before = index.Secrets.Count + index.MoreSecrets;
                await SearchSecretsAsync(path, size, content, open, cancellationToken);
                if (index.Secrets.Count + index.MoreSecrets > before)
                {
                    index.Cacheable = false; // the kept bytes hold a secret: they never go to disk
                }
            }
        }
        else
        {
            Refuse(path, refused);
        }
    }

    public void Opaque(string directory)
    {
        if (directory.Length == 0)
        {
            index.Problems.Add($"the root of layer {index.Layer} is marked opaque: it would hide every lower layer from a scanner");
            return;
        }
        index.Opaque.Add(directory);
    }

    /// <summary>A wanted path that cannot be read: listed (up to <see cref="LayerIndex.MaxListed"/>, then counted), and hiding what lower layers had.</summary>
    private void Refuse(string path, string reason)
    {
        index.Files.Remove(path);
        index.GoBinaries.Remove(path);
        if (index.Unreadable.Count < LayerIndex.MaxListed || index.Unreadable.ContainsKey(path))
        {
            index.Unreadable[path] = reason;
        }
        else
        {
            index.MoreUnreadable++;
            index.Deleted.Add(path);
        }
    }

    /// <summary>Searches one file for secrets (text files up to 1 MiB, within the scan's secret budget); the bytes are not kept.</summary>
    private async Task SearchSecretsAsync(string path, long size, byte[]? content, Func<Stream> open, CancellationToken cancellationToken)
    {
        if (!SecretScanner.Wants(path, size))
        {
            return;
        }
        if (content is null && !budget.TryTakeSecretBytes(size))
        {
            index.Cacheable = false; // searched only in part
            return;
        }
        if (content is not null)
        {
            Search(path, content);
            return;
        }
        // Read into a pooled buffer: thousands of files pass through here, none is kept.
        var buffer = ArrayPool<byte>.Shared.Rent((int)size);
        try
        {
            var read = await open().ReadAtLeastAsync(buffer.AsMemory(0, (int)size), (int)size, throwOnEndOfStream: false, cancellationToken);
            Search(path, buffer.AsSpan(0, read));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    private void Search(string path, ReadOnlySpan<byte> content)
    {
        if (SecretScanner.LooksBinary(content[..Math.Min(content.Length, SecretScanner.BinaryProbeLength)]))
        {
            return;
        }
        foreach (var match in SecretScanner.Scan(path, content))
        {
            if (index.Secrets.Count < LayerIndex.MaxListed)
            {
                index.Secrets.Add(new LayerSecret(path, match.RuleId, match.Title, match.Severity, match.Line, match.Masked));
            }
            else
            {
                index.MoreSecrets++;
            }
        }
    }

    private static bool IsLockfile(string path) =>
        path.EndsWith("package-lock.json", StringComparison.Ordinal) || path.EndsWith("npm-shrinkwrap.json", StringComparison.Ordinal);

    public void Delete(string path)
    {
        index.GoBinaries.Remove(path);
        index.Files.Remove(path);
        index.Unreadable.Remove(path);
        index.Deleted.Add(path);
    }

    private static string Megabytes(long bytes) => bytes >= 1024 * 1024 ? $"{bytes / (1024 * 1024)} MiB" : $"{bytes} bytes";

    /// <summary>Exactly the declared size: a stream that holds more or less is cut or refused.</summary>
    private static async Task<byte[]> ReadAsync(Func<Stream> open, long size, CancellationToken cancellationToken)
    {
        var stream = open(); // the caller owns (and disposes) what it opened
        var bytes = new byte[size];
        var read = await stream.ReadAtLeastAsync(bytes, bytes.Length, throwOnEndOfStream: false, cancellationToken);
        return read == bytes.Length ? bytes : bytes[..read];
    }
}
