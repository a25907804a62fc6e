using System.Text.Json;
using Berth.Scanner.Json;
using Berth.Scanner.Layers;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Catalogers.Npm;

/// <summary>
/// npm packages: <c>node_modules/&lt;name&gt;/package.json</c> and <c>node_modules/@scope/&lt;name&gt;/package.json</c>, at any depth.
/// Each file is read with <see cref="StrictJson"/>; one it refuses is skipped with a warning.
/// </summary>
public sealed class NpmCataloger : ICataloger
{
    private const int MaxDepth = 64;

    public string Name => "npm";

    public bool Wants(string path)
    {
        if (!path.EndsWith("/package.json", StringComparison.Ordinal))
        {
            return false;
        }
        var parts = path.Split('/');
        // .../node_modules/name/package.json or .../node_modules/@scope/name/package.json
        return (parts.Length >= 3 && parts[^3] == "node_modules" && !parts[^2].StartsWith('@'))
            || (parts.Length >= 4 && parts[^4] == "node_modules" && parts[^3].StartsWith('@'));
    }

    public IReadOnlyList<Package> Catalog(ImageFiles files, Distro? distro, ICollection<string> warnings)
    {
        var packages = new List<Package>();
        foreach (var file in files.All.Where(f => Wants(f.Path)))
        {
            try
            {
                using var json = StrictJson.Parse(file.Content, MaxDepth);
                if (json.RootElement.ValueKind == JsonValueKind.Object
                    && json.RootElement.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                    && json.RootElement.TryGetProperty("version", out var version) && version.ValueKind == JsonValueKind.String
                    && name.GetString() is { Length: > 0 } n && version.GetString() is { Length: > 0 } v)
                {
                    packages.Add(new Package(n, v, "npm", "npm", n, v, new FileLocation(file.Layer, "/" + file.Path)));
                }
                else
                {
                    warnings.Add($"npm: /{file.Path} has no string name and version");
                }
            }
            catch (StrictJsonException e)
            {
                warnings.Add($"npm: /{file.Path} is not valid JSON ({e.Message})");
            }
        }
        return packages;
    }
}
