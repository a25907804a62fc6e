using System.Text;
using Berth.Scanner.Coverage;
using Berth.Scanner.Layers;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Tests.Coverage;

/// <summary>Which release an image's OS packages are matched in, against the real bundled snapshot (Debian 3.0–11, Alpine v3.3–v3.11, no Ubuntu).</summary>
[Collection(VulnDbCollection.Name)]
public sealed class ReleaseCoverageTests(VulnDbFixture db)
{
    private static Package Deb(string name, string version, string? ecosystem, string? source = null) =>
        new(name, version, PackageType.Deb, ecosystem, source ?? name, version, new FileLocation("sha256:l", "/var/lib/dpkg/status"));

    private static Package Apk(string name, string version, string? ecosystem) =>
        new(name, version, PackageType.Apk, ecosystem, name, version, new FileLocation("sha256:l", "/lib/apk/db/installed"));

    private static Package Python(string name, string version) =>
        new(name, version, PackageType.Python, "PyPI", name, version, new FileLocation("sha256:l", "/x/METADATA"));

    private (IReadOnlyList<Package> Packages, ReleaseCoverage? Coverage) Apply(Distro? distro, params Package[] packages) =>
        ReleaseCoverageRules.Apply(distro, packages, db.Database);

    [Fact]
    public void Apply_Debian12_IsMatchedAsDebian11WithAMessage()
    {
        var distro = new Distro("debian", "12", "Debian GNU/Linux 12 (bookworm)");

        var (packages, coverage) = Apply(distro, Deb("zlib1g", "1:1.2.13.dfsg-1", distro.Ecosystem), Deb("tar", "1.34+dfsg-1.2", distro.Ecosystem),
            Python("six", "1.16.0"));

        Assert.NotNull(coverage);
        Assert.Equal(("debian 12", "Debian:11", 2), (coverage.Release, coverage.MatchedAs, coverage.Packages));
        Assert.Equal(
            "debian 12 is not covered by the advisory database (it has Debian:3.0–Debian:11); its 2 OS packages were matched against Debian:11, " +
            "the nearest covered release, so findings may be missing",
            coverage.Message);
        Assert.Equal(["Debian:11", "Debian:11", "PyPI"], packages.Select(p => p.Ecosystem));
    }

    [Theory]
    [InlineData("99", "debian 99")]
    [InlineData("x", "debian x")]
    [InlineData("", "debian")]
    public void Apply_ImplausibleDebianRelease_IsMatchedAsTheNewestDebian(string versionId, string release)
    {
        var distro = new Distro("debian", versionId, null);

        var (packages, coverage) = Apply(distro, Deb("zlib1g", "1", distro.Ecosystem));

        Assert.Equal((release, "Debian:11"), (coverage!.Release, coverage.MatchedAs));
        Assert.Equal("Debian:11", Assert.Single(packages).Ecosystem);
    }

    [Theory]
    [InlineData("debian", "7")]
    [InlineData("debian", "11")]
    public void Apply_CoveredDebianRelease_HasNoCoverageNote(string id, string versionId)
    {
        var distro = new Distro(id, versionId, null);
        var package = Deb("zlib1g", "1", distro.Ecosystem);

        var (packages, coverage) = Apply(distro, package);

        Assert.Null(coverage);
        Assert.Same(package, Assert.Single(packages));
    }

    [Fact]
    public void Apply_Alpine319_IsMatchedAsAlpine311()
    {
        var distro = new Distro("alpine", "3.19.1", null);

        var (packages, coverage) = Apply(distro, Apk("musl", "1.2.4-r2", distro.Ecosystem));

        Assert.Equal(("alpine 3.19.1", "Alpine:v3.11"), (coverage!.Release, coverage.MatchedAs));
        Assert.Contains("(it has Alpine:v3.3–Alpine:v3.11)", coverage.Message, StringComparison.Ordinal);
        Assert.Equal("Alpine:v3.11", Assert.Single(packages).Ecosystem);
    }

    [Fact]
    public void Apply_Alpine35_IsCovered()
    {
        var distro = new Distro("alpine", "3.5.2", null);

        var (packages, coverage) = Apply(distro, Apk("musl", "1.1.15-r8", distro.Ecosystem));

        Assert.Null(coverage);
        Assert.Equal("Alpine:v3.5", Assert.Single(packages).Ecosystem);
    }

    [Fact]
    public void Apply_Alpine310_IsCoveredNotConfusedWithAlpine31()
    {
        Assert.Null(Apply(new Distro("alpine", "3.10.9", null), Apk("musl", "1", "Alpine:v3.10")).Coverage);
    }

    [Fact]
    public void Apply_Alpine32_IsMatchedAsTheNearestOlderCoveredRelease()
    {
        var (_, coverage) = Apply(new Distro("alpine", "3.2.0", null), Apk("musl", "1", "Alpine:v3.2"));

        Assert.Equal("Alpine:v3.3", coverage!.MatchedAs);
    }

    [Fact]
    public void Apply_UnknownIdWithDebPackages_IsMatchedAsDebian()
    {
        var (packages, coverage) = Apply(new Distro("myos", "1.0", null), Deb("zlib1g", "1", null));

        Assert.Equal(("myos 1.0", "Debian:11"), (coverage!.Release, coverage.MatchedAs));
        Assert.Equal("Debian:11", Assert.Single(packages).Ecosystem);
    }

    [Fact]
    public void Apply_UnknownIdWithApkPackages_IsMatchedAsAlpine()
    {
        var (packages, coverage) = Apply(new Distro("wolfi", "20230201", null), Apk("musl", "1", null));

        Assert.Equal("Alpine:v3.11", coverage!.MatchedAs);
        Assert.Equal("Alpine:v3.11", Assert.Single(packages).Ecosystem);
    }

    [Fact]
    public void Apply_NoOsRelease_MatchesByThePackageDatabase()
    {
        var (packages, coverage) = Apply(null, Deb("zlib1g", "1", null));

        Assert.Equal(("an image with no os-release (deb packages)", "Debian:11"), (coverage!.Release, coverage.MatchedAs));
        Assert.Equal("Debian:11", Assert.Single(packages).Ecosystem);
    }

    [Fact]
    public void Apply_UbuntuWithNoUbuntuData_IsUncheckedAndSaysSo()
    {
        var distro = new Distro("ubuntu", "22.04", null);

        var (packages, coverage) = Apply(distro, Deb("zlib1g", "1:1.2.11.dfsg-2ubuntu9", distro.Ecosystem), Deb("tar", "1.34", distro.Ecosystem));

        Assert.NotNull(coverage);
        Assert.Null(coverage.MatchedAs);
        Assert.Equal("ubuntu 22.04 is not covered: the advisory database has no Ubuntu data, so its 2 OS packages were not checked", coverage.Message);
        Assert.All(packages, p => Assert.Equal("Ubuntu:22.04:LTS", p.Ecosystem));
    }

    [Fact]
    public void Apply_AlpineIdOverDebPackages_ThePackageDatabaseDecidesTheFamily()
    {
        var distro = new Distro("alpine", "3.11.6", null); // os-release edited to dodge Debian matching

        var (packages, coverage) = Apply(distro, Deb("zlib1g", "1", distro.Ecosystem));

        Assert.Equal(("alpine 3.11.6", "Debian:11"), (coverage!.Release, coverage.MatchedAs));
        Assert.Equal("Debian:11", Assert.Single(packages).Ecosystem);
    }

    [Fact]
    public void Apply_DebianIdOverApkPackages_ThePackageDatabaseDecidesTheFamily()
    {
        var (packages, coverage) = Apply(new Distro("debian", "11", null), Apk("musl", "1", "Debian:11"));

        Assert.Equal("Alpine:v3.11", coverage!.MatchedAs);
        Assert.Equal("Alpine:v3.11", Assert.Single(packages).Ecosystem);
    }

    [Fact]
    public void Apply_NoOsPackages_HasNoNote()
    {
        var package = Python("six", "1.16.0");

        var (packages, coverage) = Apply(new Distro("debian", "12", null), package);

        Assert.Null(coverage);
        Assert.Same(package, Assert.Single(packages));
    }

    [Fact]
    public void Scan_Debian12WithAnOldOpenssl_FindsTheDebian11Advisory()
    {
        var layer = new LayerIndex { Layer = "sha256:1" };
        layer.Files["etc/os-release"] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"u8.ToArray();
        layer.Files["var/lib/dpkg/status"] = Encoding.UTF8.GetBytes(
            "Package: libssl1.1\nStatus: install ok installed\nSource: openssl\nVersion: 1.1.1n-0+deb11u3\n");

        var result = ImageScanner.Scan(LayerMerger.Merge([layer]), db.Database);

        Assert.Equal("Debian:11", result.Coverage!.MatchedAs);
        Assert.Contains(result.Coverage.Message, result.Warnings);
        var finding = Assert.Single(result.Findings, f => f.AdvisoryId == "DSA-5343-1");
        Assert.Equal(("libssl1.1", "1.1.1n-0+deb11u4"), (finding.Package.Name, finding.FixedVersion));
        Assert.Equal("Debian:11", finding.Package.Ecosystem);
    }

    [Fact]
    public void Scan_Debian12WithAFixedOpenssl_DoesNotFindTheAdvisory()
    {
        var layer = new LayerIndex { Layer = "sha256:1" };
        layer.Files["etc/os-release"] = "ID=debian\nVERSION_ID=12\n"u8.ToArray();
        layer.Files["var/lib/dpkg/status"] = "Package: libssl1.1\nStatus: install ok installed\nSource: openssl\nVersion: 1.1.1n-0+deb11u4\n"u8.ToArray();

        var result = ImageScanner.Scan(LayerMerger.Merge([layer]), db.Database);

        Assert.DoesNotContain(result.Findings, f => f.AdvisoryId == "DSA-5343-1");
        Assert.NotNull(result.Coverage);
    }
}
