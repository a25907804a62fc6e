namespace Berth.Scanner.Versions;

/// <summary>How one ecosystem orders its version strings. Never throws on odd input.</summary>
public interface IVersionScheme
{
    /// <summary>Negative when <paramref name="a"/> sorts before <paramref name="b"/>, zero when equal, positive after.</summary>
    int Compare(string a, string b);
}

/// <summary>The version scheme of each OSV ecosystem (<c>Debian:12</c> → Debian, <c>Alpine:v3.19</c> → apk, ...).</summary>
public static class VersionSchemes
{
    public static readonly IVersionScheme Debian = new DebianVersionScheme();
    public static readonly IVersionScheme Alpine = new ApkVersionScheme();
    public static readonly IVersionScheme PyPI = new Pep440VersionScheme();
    public static readonly IVersionScheme SemVer = new SemVerScheme();

    /// <summary>The scheme for an OSV ecosystem name, or null when Berth has none.</summary>
    public static IVersionScheme? For(string ecosystem) => BaseEcosystem(ecosystem) switch
    {
        "Debian" or "Ubuntu" => Debian,
        "Alpine" => Alpine,
        "PyPI" => PyPI,
        "npm" or "Go" or "crates.io" or "Hex" or "Pub" => SemVer,
        _ => null,
    };

    /// <summary><c>Debian:12</c> → <c>Debian</c>.</summary>
    public static string BaseEcosystem(string ecosystem)
    {
        var colon = ecosystem.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? ecosystem : ecosystem[..colon];
    }
}
