namespace Berth.Scanner.Packages;

/// <summary>Where a file was found: the layer (diff id when known) and the path inside the image.</summary>
public sealed record FileLocation(string Layer, string Path);

/// <summary>
/// A package in the image. <see cref="Ecosystem"/> is the OSV ecosystem it is matched in
/// (<c>Debian:12</c>, <c>Alpine:v3.19</c>, <c>PyPI</c>, <c>npm</c>). For OS packages, advisories name
/// the source package: <see cref="SourceName"/>/<see cref="SourceVersion"/> (the binary's own when none).
/// <see cref="Evidence"/> says whether it was seen installed or only named by a lockfile.
/// </summary>
public sealed record Package(
    string Name,
    string Version,
    PackageType Type,
    string? Ecosystem,
    string SourceName,
    string SourceVersion,
    FileLocation Location,
    PackageEvidence Evidence = PackageEvidence.Installed)
{
    public string Purl => Type switch
    {
        PackageType.Deb => $"pkg:deb/{Distro(Ecosystem)}/{Uri.EscapeDataString(Name)}@{Uri.EscapeDataString(Version)}",
        PackageType.Apk => $"pkg:apk/alpine/{Uri.EscapeDataString(Name)}@{Uri.EscapeDataString(Version)}",
        PackageType.Python => $"pkg:pypi/{Uri.EscapeDataString(Name)}@{Uri.EscapeDataString(Version)}",
        PackageType.GoModule => $"pkg:golang/{string.Join('/', Name.Split('/').Select(Uri.EscapeDataString))}@{Uri.EscapeDataString(Version)}",
        PackageType.Npm => Name.StartsWith('@')
            ? $"pkg:npm/%40{Name[1..].Replace("/", "/", StringComparison.Ordinal)}@{Uri.EscapeDataString(Version)}"
            : $"pkg:npm/{Uri.EscapeDataString(Name)}@{Uri.EscapeDataString(Version)}",
        _ => $"pkg:generic/{Uri.EscapeDataString(Name)}@{Uri.EscapeDataString(Version)}",
    };

    private static string Distro(string? ecosystem) =>
        ecosystem?.StartsWith("Ubuntu", StringComparison.Ordinal) == true ? "ubuntu" : "debian";
}

/// <summary>The kind of package, by the cataloger that found it. Reports name it with <see cref="PackageTypes.ToWire"/>.</summary>
public enum PackageType
{
    Deb,
    Apk,
    Python,
    GoModule,
    Npm,
}

public static class PackageTypes
{
    /// <summary>The name reports give the type (JSON <c>type</c>, SARIF <c>packageType</c>, CycloneDX <c>berth:package:type</c>).</summary>
    public static string ToWire(this PackageType type) => type switch
    {
        PackageType.GoModule => "go-module",
        _ => type.ToString().ToLowerInvariant(),
    };
}

/// <summary>What a package was found from.</summary>
public enum PackageEvidence
{
    /// <summary>Its own installed metadata (a status database entry, METADATA, a package.json in node_modules).</summary>
    Installed,

    /// <summary>Only a lockfile (package-lock.json, npm-shrinkwrap.json) whose project has nothing installed beside it.</summary>
    Lockfile,
}

/// <summary>The image's distribution, read from os-release and friends.</summary>
public sealed record Distro(string Id, string VersionId, string? PrettyName)
{
    /// <summary>The OSV ecosystem of the distribution's packages, or null when unknown.</summary>
    public string? Ecosystem => Id switch
    {
        "debian" when MajorVersion is { } major => $"Debian:{major}",
        "alpine" when MinorVersion is { } minor => $"Alpine:v{minor}",
        "ubuntu" when VersionId.Length > 0 => VersionId.EndsWith(".04", StringComparison.Ordinal) && int.TryParse(VersionId[..2], out var year) && year % 2 == 0
            ? $"Ubuntu:{VersionId}:LTS"
            : $"Ubuntu:{VersionId}",
        _ => null,
    };

    private string? MajorVersion => VersionId.Split('.')[0] is { Length: > 0 } m && m.All(char.IsAsciiDigit) ? m : null;

    private string? MinorVersion => VersionId.Split('.') is [var a, var b, ..] && a.All(char.IsAsciiDigit) && b.All(char.IsAsciiDigit) ? $"{a}.{b}" : null;
}
