namespace Berth.Scanner.Layers;

/// <summary>
/// What a scan needs from one layer, read once and cached by the layer's diff id: the wanted files' bytes,
/// what the layer deletes (whiteouts, opaque directories), wanted paths it holds in a form that cannot be
/// read (a link, too large), and which package-manager programs it holds. Paths are relative to the image
/// root with no leading slash.
/// </summary>
public sealed class LayerIndex
{
    /// <summary>Bumped whenever what a layer index holds changes meaning: older cache entries are ignored.</summary>
    public const int FormatVersion = 2;

    public int Format { get; set; } = FormatVersion;

    /// <summary>The layer's diff id (<c>sha256:…</c>), or the saved image's entry name until the manifest maps it.</summary>
    public string Layer { get; set; } = "";

    public Dictionary<string, byte[]> Files { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Wanted paths present in this layer as something that cannot be read: path → why (e.g. "a symbolic link").</summary>
    public Dictionary<string, string> Unreadable { get; set; } = new(StringComparer.Ordinal);

    public List<string> Deleted { get; set; } = [];

    public List<string> Opaque { get; set; } = [];

    /// <summary>Package-manager programs (<see cref="PackageManagers"/>) present in this layer, in any form.</summary>
    public List<string> Managers { get; set; } = [];

    public long Entries { get; set; }

    /// <summary>Go executables in this layer: path → the build information the Go linker embedded.</summary>
    public Dictionary<string, Catalogers.Go.GoBuildInfo> GoBinaries { get; set; } = new(StringComparer.Ordinal);

    /// <summary>True when this layer's files were searched for secrets (only layers a job added are).</summary>
    public bool SecretsScanned { get; set; }

    /// <summary>Secrets found in this layer's files, masked.</summary>
    public List<LayerSecret> Secrets { get; set; } = [];

    /// <summary>Approximate bytes this index takes (kept file contents), for the cache's size cap.</summary>
    public long Size => Files.Values.Sum(f => (long)f.Length) + (Files.Count + Unreadable.Count + Deleted.Count) * 64L;
}

/// <summary>A secret found in a layer: the rule, where (path, 1-based line), and the value masked.</summary>
public sealed record LayerSecret(string Path, string RuleId, string Title, string Severity, int Line, string Masked);

/// <summary>The package managers whose presence means a package database should exist beside them.</summary>
public static class PackageManagers
{
    /// <summary>Program path → the database paths (any one suffices) it maintains.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Databases = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["usr/bin/dpkg"] = ["var/lib/dpkg/status", "var/lib/dpkg/status.d/"],
        ["sbin/apk"] = ["lib/apk/db/installed"],
    };

    public static bool IsManager(string path) => Databases.ContainsKey(path);
}
