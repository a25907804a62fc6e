using Berth.Scanner.Matching;
using Berth.Scanner.Packages;
using Berth.Scanner.Policy;
using Berth.Scanner.Reports;
using Berth.Scanner.Severity;

namespace Berth.Scanner.Tests.Reports;

/// <summary>
/// A Debian 12 image scanned under the default policy plus one ignore rule: findings of every severity (critical,
/// high, medium with and without a score, low, none, unknown), one advisory in two packages, ignored findings (an
/// ignore rule, and no fix), and packages in three layers, one of them at a path that needs escaping.
/// </summary>
internal static class SampleScan
{
    public const string Image = "berth/job-42";
    public const string GhsaUrl = "https://github.com/advisories/GHSA-v845-jxx5-vc9f";

    public static readonly Package LibSsl = Deb("libssl3", "3.0.9-1", "openssl", "3.0.9-1", "sha256:aaa");
    public static readonly Package OpenSsl = Deb("openssl", "3.0.9-1", "openssl", "3.0.9-1", "sha256:aaa");
    public static readonly Package Zlib = Deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1", "sha256:aaa");
    public static readonly Package Tar = Deb("tar", "1.34+dfsg-1.2", "tar", "1.34+dfsg-1.2", "sha256:aaa");

    public static readonly Package Urllib3 = new("urllib3", "1.26.16", PackageType.Python, "PyPI", "urllib3", "1.26.16",
        new FileLocation("sha256:bbb", "/usr/lib/python3/dist-packages/urllib3-1.26.16.dist-info/METADATA"));

    public static readonly Package Requests = new("requests", "2.30.0", PackageType.Python, "PyPI", "requests", "2.30.0",
        new FileLocation("sha256:bbb", "/usr/lib/python3/dist-packages/requests-2.30.0.dist-info/METADATA"));

    public static readonly Package LeftPad = new("@acme/left-pad", "1.0.0", PackageType.Npm, "npm", "@acme/left-pad", "1.0.0",
        new FileLocation("sha256:ccc", "/srv/my app/node_modules/@acme/left-pad/package.json"));

    public static readonly IReadOnlyList<Finding> Findings =
    [
        new("DSA-5500-1", ["CVE-2023-0001"], "openssl - security update", LibSsl, "openssl", "3.0.9-1", "3.0.11-1~deb12u1", SeverityLevel.Critical, 9.8),
        new("DSA-5500-1", ["CVE-2023-0001"], "openssl - security update", OpenSsl, "openssl", "3.0.9-1", "3.0.11-1~deb12u1", SeverityLevel.Critical, 9.8),
        new("PYSEC-2023-192", ["CVE-2023-43804", "GHSA-v845-jxx5-vc9f"], "Cookie leak on [cross-origin](https://evil.example) redirect",
            Urllib3, "urllib3", "1.26.16", "1.26.17", SeverityLevel.High, 8.1, AdvisoryUrl: GhsaUrl),
        new("GHSA-j8r2-6x86-q33q", [], "Unintended leak of Proxy-Authorization header", Requests, "requests", "2.30.0", "2.31.0", SeverityLevel.Medium, 6.1),
        new("PYSEC-2023-74", [], "Moderate issue rated by text only", Requests, "requests", "2.30.0", "2.31.0", SeverityLevel.Medium, null),
        new("GHSA-lpad-0000-0001", [], "Padding oracle in left-pad", LeftPad, "@acme/left-pad", "1.0.0", "1.0.1", SeverityLevel.Low, null),
        new("DLA-3000-1", [], null, Tar, "tar", "1.34+dfsg-1.2", "1.34+dfsg-1.2+deb12u1", SeverityLevel.None, 0),
        new("DEBIAN-CVE-2023-45853", ["CVE-2023-45853"], "zlib MiniZip integer overflow", Zlib, "zlib", "1:1.2.13.dfsg-1", null, SeverityLevel.Unknown, null),
    ];

    public static readonly ScanPolicy Policy = ScanPolicy.Default with
    {
        Ignore = [new IgnoreRule("GHSA-lpad-0000-0001", "the padding code is never called", null)],
    };

    public static readonly ScanResult Result = new(new Distro("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
        [LibSsl, OpenSsl, Zlib, Tar, Urllib3, Requests, LeftPad], Findings, ["a warning from the scan"]);

    public static ScanVerdict Verdict => Policy.Evaluate(Findings, new DateOnly(2026, 11, 23));

    public static ScanReport Report => ScanReport.Create(Image, Result, Verdict, Policy,
        new DatabaseInfo("bundled", 100, 0, DateTimeOffset.UnixEpoch, 1, null, null));

    /// <summary>An image with no packages and no findings.</summary>
    public static ScanReport EmptyReport => ScanReport.Create(Image, new ScanResult(null, [], [], []),
        Policy.Evaluate([], new DateOnly(2026, 11, 23)), Policy, new DatabaseInfo("unknown", 0, 0, null, null, null, null));

    private static Package Deb(string name, string version, string source, string sourceVersion, string layer) =>
        new(name, version, PackageType.Deb, "Debian:12", source, sourceVersion, new FileLocation(layer, "/var/lib/dpkg/status"));
}
