using System.Text.RegularExpressions;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Catalogers.Go;

/// <summary>
/// Turns a Go executable's build information into packages of the OSV <c>Go</c> ecosystem, spelt as the
/// Go vulnerability database spells them: module versions without the leading <c>v</c>
/// (<c>v0.3.5</c> → <c>0.3.5</c>; <c>+incompatible</c> is kept, as the records write it), and the
/// toolchain as the module <c>stdlib</c> (<c>go1.19.8</c> → <c>1.19.8</c>, <c>go1.21rc2</c> → <c>1.21.0-rc.2</c>).
/// All are of type <c>go-module</c>: OSV treats the standard library as one more Go module.
/// </summary>
public static partial class GoPackages
{
    public const PackageType Type = PackageType.GoModule;
    public const string Ecosystem = "Go";

    /// <summary>The package name the Go vulnerability database gives the standard library.</summary>
    public const string StandardLibrary = "stdlib";

    /// <summary>
    /// One package per dependency (its replacement's path and version when replaced; local-path and
    /// <c>(devel)</c> replacements, which have no version, are skipped), the main module when it has a
    /// real version, and <c>stdlib</c> at the toolchain's version (none for a <c>devel</c> toolchain).
    /// </summary>
    public static IReadOnlyList<Package> From(GoBuildInfo info, FileLocation location)
    {
        ArgumentNullException.ThrowIfNull(info);
        var packages = new List<Package>();
        if (StdlibVersion(info.GoVersion) is { } stdlib)
        {
            packages.Add(Create(StandardLibrary, stdlib, location));
        }
        foreach (var module in (info.Main is null ? [] : new[] { info.Main }).Concat(info.Deps))
        {
            var effective = module.Replace ?? module;
            if (ModuleVersion(effective.Version) is { } version && effective.Path.Length > 0)
            {
                packages.Add(Create(effective.Path, version, location));
            }
        }
        return packages.DistinctBy(p => (p.Name, p.Version)).ToList();
    }

    /// <summary><c>v1.2.3</c> → <c>1.2.3</c>; null for <c>(devel)</c>, an empty version or anything not starting <c>v</c>+digit.</summary>
    public static string? ModuleVersion(string version) =>
        version.Length > 1 && version[0] == 'v' && char.IsAsciiDigit(version[1]) ? version[1..] : null;

    /// <summary>
    /// The toolchain version as OSV's <c>stdlib</c> version: <c>go1.19.8</c> → <c>1.19.8</c>, <c>go1.20</c> →
    /// <c>1.20.0</c>, <c>go1.21rc2</c> → <c>1.21.0-rc.2</c>; what follows a space (<c>X:boringcrypto</c>) or a
    /// <c>-</c>/<c>+</c> after the version is dropped. Null for <c>devel</c> builds and anything else.
    /// </summary>
    public static string? StdlibVersion(string goVersion)
    {
        var match = GoVersionPattern().Match(goVersion.Trim());
        if (!match.Success)
        {
            return null;
        }
        var minor = match.Groups["minor"].Success ? match.Groups["minor"].Value : "0";
        var patch = match.Groups["patch"].Success ? match.Groups["patch"].Value : "0";
        var pre = match.Groups["pre"].Success ? $"-{match.Groups["pre"].Value}.{match.Groups["n"].Value}" : "";
        return $"{match.Groups["major"].Value}.{minor}.{patch}{pre}";
    }

    private static Package Create(string name, string version, FileLocation location) =>
        new(name, version, Type, Ecosystem, name, version, location);

    [GeneratedRegex(@"^go(?<major>\d+)(?:\.(?<minor>\d+))?(?:\.(?<patch>\d+))?(?:(?<pre>alpha|beta|rc)(?<n>\d+))?(?:[ \-+].*)?$", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex GoVersionPattern();
}
