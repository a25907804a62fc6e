namespace Berth.Scanner.Layers;

/// <summary>A wanted path that the image holds in a form a scan cannot read.</summary>
public sealed record UnreadableFile(string Path, string Layer, string Reason);

/// <summary>An OS package database that was in the image (<see cref="AddedIn"/>) until a later layer (<see cref="RemovedIn"/>) removed it.</summary>
public sealed record RemovedDatabase(string Path, string AddedIn, string RemovedIn);

/// <summary>The image's final filesystem as far as a scan cares: the layers applied in order, whiteouts honoured.</summary>
public sealed record MergedImage(ImageFiles Files, IReadOnlyList<UnreadableFile> Unreadable, IReadOnlySet<string> Managers)
{
    /// <summary>What the layers themselves make incomplete (a whiteout of the root, unreadable files past the listed ones).</summary>
    public IReadOnlyList<string> LayerProblems { get; init; } = [];

    /// <summary>OS package databases a lower layer had and a later layer removed (whiteout, opaque directory, link), not there in the end.</summary>
    public IReadOnlyList<RemovedDatabase> RemovedDatabases { get; init; } = [];

    /// <summary>Go executables of the final filesystem: path, layer and build information.</summary>
    public IReadOnlyList<(string Path, string Layer, Catalogers.Go.GoBuildInfo Info)> GoBinaries { get; init; } = [];
}

/// <summary>Applies layer indexes bottom to top.</summary>
public static class LayerMerger
{
    public static MergedImage Merge(IEnumerable<LayerIndex> layers)
    {
        var files = new Dictionary<string, ImageFile>(StringComparer.Ordinal);
        var unreadable = new Dictionary<string, UnreadableFile>(StringComparer.Ordinal);
        var managers = new HashSet<string>(StringComparer.Ordinal);
        var go = new Dictionary<string, (string Layer, Catalogers.Go.GoBuildInfo Info)>(StringComparer.Ordinal);
        var removed = new Dictionary<string, RemovedDatabase>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            // Which OS databases this layer's deletions take away (recorded before they go).
            foreach (var gone in files.Values.Where(f => Catalogers.DefaultCatalogers.IsOsDatabase(f.Path)
                         && layer.Opaque.Concat(layer.Deleted).Any(d => d.Length > 0 && (f.Path == d || f.Path.StartsWith(d + "/", StringComparison.Ordinal)))))
            {
                removed[gone.Path] = new RemovedDatabase(gone.Path, gone.Layer, layer.Layer);
            }
            foreach (var dir in layer.Opaque)
            {
                RemoveUnder(go, dir);
                RemoveUnder(files, dir);
                RemoveUnder(unreadable, dir);
                RemoveUnder(managers, dir);
            }
            foreach (var path in layer.Deleted)
            {
                go.Remove(path);
                RemoveUnder(go, path);
                files.Remove(path);
                unreadable.Remove(path);
                managers.Remove(path);
                RemoveUnder(files, path);
                RemoveUnder(unreadable, path);
                RemoveUnder(managers, path);
            }
            foreach (var (path, content) in layer.Files)
            {
                files[path] = new ImageFile(path, layer.Layer, content);
                unreadable.Remove(path);
            }
            foreach (var (path, reason) in layer.Unreadable)
            {
                files.Remove(path);
                unreadable[path] = new UnreadableFile(path, layer.Layer, reason);
            }
            foreach (var (path, info) in layer.GoBinaries)
            {
                go[path] = (layer.Layer, info);
            }
            managers.UnionWith(layer.Managers);
        }
        return new MergedImage(new ImageFiles(files), unreadable.Values.OrderBy(u => u.Path, StringComparer.Ordinal).ToList(), managers)
        {
            LayerProblems = layers.SelectMany(l => l.MoreUnreadable > 0
                    ? [.. l.Problems, $"and {l.MoreUnreadable} more unreadable package files in layer {l.Layer}"]
                    : l.Problems).ToList(),
            RemovedDatabases = removed.Values.Where(r => !files.ContainsKey(r.Path) && !unreadable.ContainsKey(r.Path))
                .OrderBy(r => r.Path, StringComparer.Ordinal).ToList(),
            GoBinaries = go.OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Value.Layer, g.Value.Info)).ToList(),
        };
    }

    private static void RemoveUnder<T>(Dictionary<string, T> map, string directory)
    {
        if (directory.Length == 0)
        {
            return; // the collector never records the root; nothing may hide the whole image
        }
        var prefix = directory.Length == 0 ? "" : directory + "/";
        foreach (var key in map.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            map.Remove(key);
        }
    }

    private static void RemoveUnder(HashSet<string> set, string directory)
    {
        if (directory.Length == 0)
        {
            return;
        }
        var prefix = directory.Length == 0 ? "" : directory + "/";
        set.RemoveWhere(k => k.StartsWith(prefix, StringComparison.Ordinal));
    }
}
