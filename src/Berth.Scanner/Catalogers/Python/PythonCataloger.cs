using System.Text;
using System.Text.RegularExpressions;
using Berth.Scanner.Layers;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Catalogers.Python;

/// <summary>
/// Python distributions in <c>site-packages</c>/<c>dist-packages</c>: <c>*.dist-info/METADATA</c> and
/// <c>*.egg-info/PKG-INFO</c> (or an <c>*.egg-info</c> file). Names are normalised per PEP 503.
/// </summary>
public sealed partial class PythonCataloger : ICataloger
{
    [GeneratedRegex(@"(^|/)(site|dist)-packages/[^/]+\.(dist-info/METADATA|egg-info/PKG-INFO|egg-info)$")]
    private static partial Regex MetadataPath();

    [GeneratedRegex(@"[-_.]+")]
    private static partial Regex Separators();

    public string Name => "python";

    public bool Wants(string path) => MetadataPath().IsMatch(path);

    public IReadOnlyList<Package> Catalog(ImageFiles files, Distro? distro, ICollection<string> warnings)
    {
        var packages = new List<Package>();
        foreach (var file in files.All.Where(f => Wants(f.Path)))
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
                continue;
            }
            var normalized = Normalize(name);
            packages.Add(new Package(normalized, version, "python", "PyPI", normalized, version, new FileLocation(file.Layer, "/" + file.Path)));
        }
        return packages;
    }

    /// <summary>PEP 503: lower case, runs of <c>-_.</c> become one <c>-</c>.</summary>
    public static string Normalize(string name) => Separators().Replace(name.Trim(), "-").ToLowerInvariant();
}
