using Berth.Scanner.Advisories;
using Berth.Scanner.Catalogers.Dpkg;
using Berth.Scanner.Matching;
using Berth.Scanner.Packages;
using Berth.Scanner.Severity;
using Berth.Scanner.Versions;

namespace Berth.Scanner.Tests.Matching;

/// <summary>Matching on real OSV records from the vulndata snapshot.</summary>
[Collection(VulnDbCollection.Name)]
public sealed class MatcherTests(VulnDbFixture db)
{
    private static Package Python(string name, string version) =>
        new(name, version, PackageType.Python, "PyPI", name, version, new FileLocation("sha256:l", "/x/METADATA"));

    [Fact]
    public void Load_RealSnapshot_IndexesEveryEcosystem()
    {
        Assert.True(db.Database.Records > 13_000, $"{db.Database.Records} records");
        Assert.Equal(0, db.Database.Skipped);
        Assert.NotEmpty(db.Database.For("Debian:11", "openssl"));
        Assert.NotEmpty(db.Database.For("Alpine:v3.11", "busybox"));
        Assert.NotEmpty(db.Database.For("PyPI", "URLLIB3")); // PyPI names compare normalised
    }

    [Theory]
    [InlineData("1.26.16", "1.26.17")]
    [InlineData("2.0.5", "2.0.6")]
    [InlineData("1.0", "1.26.17")]
    public void Match_Urllib3_UnorderedEventsFindTheRightFix(string version, string fixedIn)
    {
        var finding = Matcher.Match([Python("urllib3", version)], db.Database).Single(f => f.AdvisoryId == "PYSEC-2023-192");
        Assert.Equal(fixedIn, finding.FixedVersion);
        Assert.Equal(SeverityLevel.High, finding.Severity);
        Assert.Equal(8.1, finding.CvssScore);
        Assert.Contains("CVE-2023-43804", finding.Aliases);
    }

    [Fact]
    public void Match_RecordWithAdvisoryReference_CarriesItsUrl()
    {
        var finding = Matcher.Match([Python("urllib3", "1.26.16")], db.Database).Single(f => f.AdvisoryId == "PYSEC-2023-192");

        Assert.Equal("https://github.com/urllib3/urllib3/security/advisories/GHSA-v845-jxx5-vc9f", finding.AdvisoryUrl);
    }

    [Theory]
    [InlineData("1.26.17")]
    [InlineData("2.0.6")]
    [InlineData("2.2.3")]
    public void Match_Urllib3_FixedVersionsAreNotAffected(string version) =>
        Assert.DoesNotContain(Matcher.Match([Python("urllib3", version)], db.Database), f => f.AdvisoryId == "PYSEC-2023-192");

    [Fact]
    public void Match_ExplicitVersionsList_WithoutSeverityIsUnknown()
    {
        var finding = Matcher.Match([Python("tornado", "2.2")], db.Database).Single(f => f.AdvisoryId == "PYSEC-2012-5");
        Assert.Equal("2.2.1", finding.FixedVersion);
        Assert.Equal(SeverityLevel.Unknown, finding.Severity);
    }

    [Fact]
    public void Match_DebianBinaries_UseTheirSourcePackageAndVersion()
    {
        var files = new ImageFilesBuilder().AddFixture("var/lib/dpkg/status", "catalogers/dpkg-status").Build();
        var packages = new DpkgCataloger().Catalog(files, new Distro("debian", "11", null), new List<string>());

        var findings = Matcher.Match(packages, db.Database);

        Assert.Contains(findings, f => f.AdvisoryId == "DSA-5055-1" && f.Package.Name == "bsdutils" && f.MatchedName == "util-linux" && f.FixedVersion == "2.36.1-8+deb11u1");
        Assert.Equal(
            ["DSA-4963-1", "DSA-5103-1", "DSA-5139-1", "DSA-5169-1", "DSA-5343-1"],
            findings.Where(f => f.Package.Name == "libssl1.1").Select(f => f.AdvisoryId).Order(StringComparer.Ordinal));
        Assert.Equal(["DSA-5111-1", "DSA-5218-1"], findings.Where(f => f.MatchedName == "zlib").Select(f => f.AdvisoryId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Match_DebianPatchedVersion_OnlyLaterAdvisories()
    {
        var openssl = new Package("libssl1.1", "1.1.1n-0+deb11u3", PackageType.Deb, "Debian:11", "openssl", "1.1.1n-0+deb11u3", new FileLocation("l", "/var/lib/dpkg/status"));
        Assert.Equal(["DSA-5343-1"], Matcher.Match([openssl], db.Database).Select(f => f.AdvisoryId));
    }

    [Theory]
    [InlineData("1.1.1d-r0", new[] { "ALPINE-CVE-2019-1547", "ALPINE-CVE-2019-1549", "ALPINE-CVE-2019-1551", "ALPINE-CVE-2019-1563" })]
    [InlineData("1.1.1d-r2", new[] { "ALPINE-CVE-2019-1551" })]
    [InlineData("1.1.1d-r3", new string[0])]
    public void Match_AlpineBinary_IsMatchedByItsOrigin(string version, string[] advisories)
    {
        var libcrypto = new Package("libcrypto1.1", version, PackageType.Apk, "Alpine:v3.11", "openssl", version, new FileLocation("l", "/lib/apk/db/installed"));
        Assert.Equal(advisories, Matcher.Match([libcrypto], db.Database).Select(f => f.AdvisoryId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Match_OtherDistroRelease_DoesNotMatch()
    {
        var openssl = new Package("libssl1.1", "1.1.1k-1", PackageType.Deb, "Debian:12", "openssl", "1.1.1k-1", new FileLocation("l", "/s"));
        Assert.Empty(Matcher.Match([openssl], db.Database));
    }

    [Theory]
    [InlineData("1.4.9", true, "1.5.0")]
    [InlineData("1.5.0", false, null)]
    [InlineData("2.1.0", true, null)]   // last_affected 2.1.0
    [InlineData("2.1.1", false, null)]
    [InlineData("0.9.0", false, null)]
    [InlineData("3.0.0-rc.1", true, null)] // in the versions list
    public void IsAffected_SemverRangesLastAffectedAndVersions(string version, bool affected, string? fix)
    {
        var entry = new OsvAffected(new OsvPackage("Go", "example.com/m", null),
            [
                new OsvRange("SEMVER", [new OsvEvent(null, "1.5.0", null, null), new OsvEvent("1.0.0", null, null, null)]),
                new OsvRange("SEMVER", [new OsvEvent("2.0.0", null, null, null), new OsvEvent(null, null, "2.1.0", null)]),
                new OsvRange("GIT", [new OsvEvent("0", null, null, null)]),
            ],
            ["3.0.0-rc.1"], null, null, null);

        Assert.Equal(affected, Matcher.IsAffected(version, entry, VersionSchemes.SemVer, out var fixedVersion));
        Assert.Equal(fix, fixedVersion);
    }
}
