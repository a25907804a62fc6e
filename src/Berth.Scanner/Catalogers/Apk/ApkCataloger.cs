using System.Text;
using Berth.Scanner.Layers;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Catalogers.Apk;

/// <summary>Alpine packages: <c>/lib/apk/db/installed</c> (<c>P:</c> name, <c>V:</c> version, <c>o:</c> origin).</summary>
public sealed class ApkCataloger : ICataloger
{
    private const string Installed = "lib/apk/db/installed";

    public string Name => "apk";

    public bool Wants(string path) => path == Installed;

    public IReadOnlyList<Package> Catalog(ImageFiles files, Distro? distro, ICollection<string> warnings)
    {
        if (files.Get(Installed) is not { } file)
        {
            return [];
        }
        var packages = new List<Package>();
        string? name = null, version = null, origin = null;
        void Flush()
        {
            if (!string.IsNullOrEmpty(name) && !string.IsNullOrEmpty(version))
            {
                // Alpine advisories name the origin (source) package; its version is the binary's.
                packages.Add(new Package(name, version, PackageType.Apk, distro?.Ecosystem, string.IsNullOrEmpty(origin) ? name : origin, version,
                    new FileLocation(file.Layer, "/" + file.Path)));
            }
            name = version = origin = null;
        }
        foreach (var line in Encoding.UTF8.GetString(file.Content).Split('\n'))
        {
            if (line.Trim().Length == 0)
            {
                Flush();
            }
            else if (line.Length >= 2 && line[1] == ':')
            {
                var value = line[2..].Trim();
                switch (line[0])
                {
                    case 'P': name = value; break;
                    case 'V': version = value; break;
                    case 'o': origin = value; break;
                }
            }
        }
        Flush();
        return packages;
    }
}
