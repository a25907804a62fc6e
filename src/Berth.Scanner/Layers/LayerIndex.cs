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
    public const int FormatVersion = 3;

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

    /// <summary>Secrets found in this layer's files, masked (at most <see cref="MaxListed"/>; <see cref="MoreSecrets"/> counts the rest).</summary>
    public List<LayerSecret> Secrets { get; set; } = [];

    public int MoreSecrets { get; set; }

    /// <summary>What in this layer makes the scan incomplete beyond unreadable files (a whiteout of the root, …).</summary>
    public List<string> Problems { get; set; } = [];

    /// <summary>Unreadable wanted files past <see cref="MaxListed"/>: they hide what lower layers had, and are only counted.</summary>
    public int MoreUnreadable { get; set; }

    /// <summary>
    /// False when what this index holds depended on the scan that read it (a scan-wide budget cut it short) or holds
    /// a secret in a kept file's bytes: such an index is never cached.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Cacheable { get; set; } = true;

    /// <summary>Longest list of secrets or unreadable files a layer keeps.</summary>
    public const int MaxListed = 1000;

    /// <summary>Approximate bytes this index takes (kept file contents), for the cache's size cap.</summary>
    public long Size => Files.Values.Sum(f => (long)f.Length) + (Files.Count + Unreadable.Count + Deleted.Count + Secrets.Count) * 64L
        + GoBinaries.Values.Sum(GoInfoBytes);

    /// <summary>About what one program's build information takes in memory.</summary>
    public static long GoInfoBytes(Catalogers.Go.GoBuildInfo info) =>
        256 + info.Deps.Sum(d => 64L + 2 * (d.Path.Length + d.Version.Length + (d.Replace is { } r ? r.Path.Length + r.Version.Length : 0)));
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
