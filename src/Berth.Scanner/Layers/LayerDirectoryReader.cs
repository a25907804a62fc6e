using System.IO.Enumeration;

namespace Berth.Scanner.Layers;

/// <summary>
/// Reads a layer straight from the engine's overlay2 layer directory (<c>…/overlay2/&lt;id&gt;/diff</c>)
/// instead of the saved-image stream: overlayfs whiteouts are character devices 0/0, opaque directories
/// carry <c>trusted.overlay.opaque=y</c>. The walk never descends into a symbolic link, and files are opened
/// with <c>openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)</c> relative to the layer, so nothing a layer
/// holds can lead the reader outside it. Committed layers are immutable while the image exists. A file with
/// several hard links is read like any file here (its content is its own); in a tar stream a hard-link entry
/// carries no content, so there it is reported as unreadable.
/// </summary>
public static class LayerDirectoryReader
{
    private static readonly Lazy<bool> Supported = new(LinuxFiles.HasOpenat2);

    /// <summary>True when this host can read layer directories safely (openat2 exists).</summary>
    public static bool IsSupported => Supported.Value;

    public static async Task<LayerIndex> ReadAsync(string directory, string diffId, ScanBudget budget, bool secrets, CancellationToken cancellationToken)
    {
        using var root = LinuxFiles.OpenDirectory(directory);
        var collector = new LayerCollector(new LayerIndex { Layer = diffId, SecretsScanned = secrets }, budget, secrets, whiteoutNames: false);
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = 0,
            IgnoreInaccessible = false,
            ReturnSpecialDirectories = false,
        };
        var entries = new FileSystemEnumerable<(string Path, bool Directory, bool Link)>(directory,
            (ref FileSystemEntry e) => (e.ToFullPath(), e.IsDirectory && (e.Attributes & FileAttributes.ReparsePoint) == 0, (e.Attributes & FileAttributes.ReparsePoint) != 0),
            options)
        {
            ShouldRecursePredicate = (ref FileSystemEntry e) => (e.Attributes & FileAttributes.ReparsePoint) == 0,
        };
        var prefix = directory.TrimEnd('/') + "/";
        foreach (var (full, isDirectory, isLink) in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (full.Length <= prefix.Length || !full.StartsWith(prefix, StringComparison.Ordinal))
            {
                throw new IOException("a layer entry's path is too long to walk (the saved-image stream is the fallback)");
            }
            var path = full[prefix.Length..];
            if (isLink)
            {
                await collector.AddAsync(path, EntryKind.SymbolicLink, 0, NotOpened, cancellationToken);
                continue;
            }
            if (isDirectory)
            {
                if (LinuxFiles.IsOpaque(full))
                {
                    collector.Opaque(path);
                }
                await collector.AddAsync(path, EntryKind.Directory, 0, NotOpened, cancellationToken);
                continue;
            }
            var stat = LinuxFiles.StatNoFollow(root, path);
            if (stat.Type == LinuxFiles.S_IFCHR && stat.RdevMajor == 0 && stat.RdevMinor == 0)
            {
                budget.CountEntry();
                collector.Delete(path);
                continue;
            }
            var kind = stat.Type switch
            {
                LinuxFiles.S_IFREG => EntryKind.File,
                LinuxFiles.S_IFLNK => EntryKind.SymbolicLink,
                LinuxFiles.S_IFDIR => EntryKind.Directory,
                _ => EntryKind.Other,
            };
            FileStream? opened = null;
            try
            {
                await collector.AddAsync(path, kind, stat.Size, () => opened = LinuxFiles.OpenBeneath(root, path), cancellationToken,
                    executable: (stat.Mode & 0b001_001_001) != 0);
            }
            finally
            {
                if (opened is not null)
                {
                    await opened.DisposeAsync();
                }
            }
        }
        return collector.Index;
    }

    private static Stream NotOpened() => throw new InvalidOperationException("only regular files are opened");
}
