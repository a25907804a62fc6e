using System.Text;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using Berth.Scanner.Layers;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Catalogers.Python;

/// <summary>
/// Python distributions anywhere below a <c>site-packages</c> or <c>dist-packages</c> directory (system, virtualenv,
/// <c>--user</c> and vendored installs alike), in every layout pip, setuptools and distro packages leave:
/// <list type="bullet">
/// <item><c>name-version.dist-info/METADATA</c> (wheel installs);</item>
/// <item><c>name-version.dist-info/RECORD</c> when the directory has no <c>METADATA</c>: name and version come from the
/// directory name (escaped per the binary distribution format, PEP 427/491), never counted twice;</item>
/// <item><c>name.egg-info/PKG-INFO</c>, a single-file <c>name.egg-info</c>, and <c>name.egg/EGG-INFO/PKG-INFO</c> (eggs).</item>
/// </list>
/// Names are normalised per PEP 503.
/// </summary>
public sealed partial class PythonCataloger : ICataloger
{
    [GeneratedRegex(@"[-_.]+")]
    private static partial Regex Separators();

    private const string DistInfo = ".dist-info";
    private const string EggInfo = ".egg-info";
    private const string Egg = ".egg";
    private const string Metadata = "/METADATA";
    private const string Record = "/RECORD";
    private const string PkgInfo = "/PKG-INFO";
    private const string EggPkgInfo = "/EGG-INFO/PKG-INFO";

    /// <summary>Which metadata file a path is.</summary>
    internal enum MetadataFile
    {
        None,
        DistInfoMetadata,
        DistInfoRecord,
        EggInfoPkgInfo,
        EggInfoFile,
        EggPkgInfo,
    }

    public string Name => "python";

    public bool Wants(string path) => Classify(path) != MetadataFile.None;

    /// <summary>
    /// What <paramref name="path"/> is: suffix tests first (most paths fail the first one), then one pass over the
    /// directories for a <c>site-packages</c>/<c>dist-packages</c> segment. No allocation, no regular expression.
    /// </summary>
    internal static MetadataFile Classify(ReadOnlySpan<char> path)
    {
        MetadataFile kind;
        ReadOnlySpan<char> entry; // the .dist-info/.egg-info/.egg directory, or the .egg-info file
        if (path.EndsWith(Metadata, StringComparison.Ordinal))
        {
            kind = MetadataFile.DistInfoMetadata;
            entry = path[..^Metadata.Length];
        }
        else if (path.EndsWith(Record, StringComparison.Ordinal))
        {
            kind = MetadataFile.DistInfoRecord;
            entry = path[..^Record.Length];
        }
        else if (path.EndsWith(EggPkgInfo, StringComparison.Ordinal))
        {
            kind = MetadataFile.EggPkgInfo;
            entry = path[..^EggPkgInfo.Length];
        }
        else if (path.EndsWith(PkgInfo, StringComparison.Ordinal))
        {
            kind = MetadataFile.EggInfoPkgInfo;
            entry = path[..^PkgInfo.Length];
        }
        else if (path.EndsWith(EggInfo, StringComparison.Ordinal))
        {
            kind = MetadataFile.EggInfoFile;
            entry = path;
        }
        else
        {
            return MetadataFile.None;
        }

        var suffix = kind switch
        {
            MetadataFile.DistInfoMetadata or MetadataFile.DistInfoRecord => DistInfo,
            MetadataFile.EggPkgInfo => Egg,
            _ => EggInfo,
        };
        var slash = entry.LastIndexOf('/');
        var name = entry[(slash + 1)..];
        if (slash < 0 || name.Length <= suffix.Length || !name.EndsWith(suffix, StringComparison.Ordinal))
        {
            return MetadataFile.None;
        }
        return InPackagesDirectory(entry[..slash]) ? kind : MetadataFile.None;
    }

    /// <summary>Whether some segment of <paramref name="directory"/> is <c>site-packages</c> or <c>dist-packages</c>.</summary>
    private static bool InPackagesDirectory(ReadOnlySpan<char> directory)
    {
        while (directory.Length > 0)
        {
            var slash = directory.IndexOf('/');
            var segment = slash < 0 ? directory : directory[..slash];
            if (segment.SequenceEqual("site-packages") || segment.SequenceEqual("dist-packages"))
            {
                return true;
            }
            directory = slash < 0 ? [] : directory[(slash + 1)..];
        }
        return false;
    }

    public IReadOnlyList<Package> Catalog(ImageFiles files, Distro? distro, ICollection<string> warnings)
    {
        var packages = new List<Package>();
        foreach (var file in files.All)
        {
            var kind = Classify(file.Path);
            if (kind == MetadataFile.None)
            {
                continue;
            }
            if (kind == MetadataFile.DistInfoRecord)
            {
                var directory = file.Path[..^Record.Length];
                if (files.Get(directory + Metadata) is null) // with METADATA beside it, METADATA alone counts
                {
                    AddFromDirectoryName(file, directory, packages, warnings);
                }
                continue;
            }
            AddFromHeaders(file, packages, warnings);
        }
        return packages;
    }

    /// <summary>Name and Version from the headers of a METADATA or PKG-INFO file (RFC 822 style, ending at the first blank line).</summary>
    private static void AddFromHeaders(ImageFile file, List<Package> packages, ICollection<string> warnings)
    {
        string? name = null, version = null;
        foreach (var line in Encoding.UTF8.GetString(file.Content).Split('\n'))
        {
            if (line.Trim().Length == 0)
            {
                break; // headers end at the first blank line; the description follows
            }
            if (line.StartsWith("Name:", StringComparison.OrdinalIgnoreCase))
            {
                name ??= line[5..].Trim();
            }
            else if (line.StartsWith("Version:", StringComparison.OrdinalIgnoreCase))
            {
                version ??= line[8..].Trim();
            }
        }
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(version))
        {
            warnings.Add($"python: /{file.Path} has no Name or Version header");
            return;
        }
        packages.Add(Create(name, version, file));
    }

    /// <summary>
    /// A <c>.dist-info</c> with a RECORD and no METADATA: <c>{name}-{version}.dist-info</c>, where both parts had every
    /// <c>-</c> escaped to <c>_</c>, so the first <c>-</c> splits them (as importlib.metadata does).
    /// </summary>
    private static void AddFromDirectoryName(ImageFile file, string directory, List<Package> packages, ICollection<string> warnings)
    {
        if (!IsText(file.Content))
        {
            warnings.Add($"python: /{file.Path} is not a RECORD (not UTF-8 CSV text)");
            return;
        }
        var stem = directory[(directory.LastIndexOf('/') + 1)..^DistInfo.Length];
        var dash = stem.IndexOf('-');
        if (dash <= 0 || dash == stem.Length - 1)
        {
            warnings.Add($"python: /{file.Path} has no METADATA, and its directory is not named name-version{DistInfo}");
            return;
        }
        packages.Add(Create(stem[..dash], stem[(dash + 1)..], file));
    }

    /// <summary>A RECORD is UTF-8 CSV: no NUL, valid UTF-8, and rows of comma-separated fields.</summary>
    private static bool IsText(ReadOnlySpan<byte> content) =>
        content.IndexOf((byte)0) < 0 && Utf8.IsValid(content) && content.IndexOf((byte)',') >= 0;

    private static Package Create(string name, string version, ImageFile file)
    {
        var normalized = Normalize(name);
        return new Package(normalized, version, PackageType.Python, "PyPI", normalized, version, new FileLocation(file.Layer, "/" + file.Path));
    }

    /// <summary>PEP 503: lower case, runs of <c>-_.</c> become one <c>-</c>.</summary>
    public static string Normalize(string name) => Separators().Replace(name.Trim(), "-").ToLowerInvariant();
}
