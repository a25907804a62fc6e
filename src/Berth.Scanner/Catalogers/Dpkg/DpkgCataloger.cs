using System.Text;
using Berth.Scanner.Layers;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Catalogers.Dpkg;

/// <summary>
/// Debian packages: <c>/var/lib/dpkg/status</c> and distroless <c>/var/lib/dpkg/status.d/*</c>. Only
/// installed packages (<c>Status: install ok installed</c>; status.d entries carry no status). Keeps the
/// binary name and version and the source name and version (<c>Source: util-linux (2.38.1-5)</c>).
/// </summary>
public sealed class DpkgCataloger : ICataloger
{
    private const string Status = "var/lib/dpkg/status";
    private const string StatusDir = "var/lib/dpkg/status.d/";

    public string Name => "dpkg";

    public bool Wants(string path) =>
        path == Status || (path.StartsWith(StatusDir, StringComparison.Ordinal) && !path[StatusDir.Length..].Contains('/', StringComparison.Ordinal)
                           && !path.EndsWith(".md5sums", StringComparison.Ordinal));

    public IReadOnlyList<Package> Catalog(ImageFiles files, Distro? distro, ICollection<string> warnings)
    {
        var packages = new List<Package>();
        foreach (var file in files.All.Where(f => Wants(f.Path)))
        {
            foreach (var paragraph in Paragraphs(Encoding.UTF8.GetString(file.Content)))
            {
                if (ToPackage(paragraph, file, distro, requireStatus: file.Path == Status) is { } package)
                {
                    packages.Add(package);
                }
            }
        }
        return packages.DistinctBy(p => (p.Name, p.Version, p.Location.Path)).ToList();
    }

    private static Package? ToPackage(Dictionary<string, string> fields, ImageFile file, Distro? distro, bool requireStatus)
    {
        if (!fields.TryGetValue("Package", out var name) || !fields.TryGetValue("Version", out var version) || name.Length == 0 || version.Length == 0)
        {
            return null;
        }
        if (requireStatus && (!fields.TryGetValue("Status", out var status) || !status.EndsWith(" installed", StringComparison.Ordinal)
                              || status.Split(' ') is not [_, "ok", "installed"]))
        {
            return null;
        }
        var sourceName = name;
        var sourceVersion = version;
        if (fields.TryGetValue("Source", out var source) && source.Length > 0)
        {
            var open = source.IndexOf('(', StringComparison.Ordinal);
            if (open > 0 && source.EndsWith(')'))
            {
                sourceName = source[..open].Trim();
                sourceVersion = source[(open + 1)..^1].Trim();
            }
            else
            {
                sourceName = source.Trim();
            }
        }
        return new Package(name, version, PackageType.Deb, distro?.Ecosystem, sourceName, sourceVersion, new FileLocation(file.Layer, "/" + file.Path));
    }

    /// <summary>RFC 822-style paragraphs; continuation lines (leading space or tab) are folded into the field.</summary>
    internal static IEnumerable<Dictionary<string, string>> Paragraphs(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        string? last = null;
        foreach (var raw in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (raw.Trim().Length == 0)
            {
                if (fields.Count > 0)
                {
                    yield return fields;
                }
                fields = new Dictionary<string, string>(StringComparer.Ordinal);
                last = null;
                continue;
            }
            if ((raw[0] == ' ' || raw[0] == '\t') && last is not null)
            {
                continue; // continuation of a multi-line field (Description, Conffiles): not needed
            }
            var colon = raw.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }
            last = raw[..colon];
            fields[last] = raw[(colon + 1)..].Trim();
        }
        if (fields.Count > 0)
        {
            yield return fields;
        }
    }
}
