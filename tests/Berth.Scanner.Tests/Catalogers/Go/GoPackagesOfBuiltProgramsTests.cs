using Berth.Scanner.Catalogers.Go;
using Berth.Scanner.Matching;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Tests.Catalogers.Go;

/// <summary>Real Go executables (built by <see cref="GoProgramsFixture"/>) → packages → findings in the bundled Go advisories.</summary>
[Collection(VulnDbCollection.Name)]
public sealed class GoPackagesOfBuiltProgramsTests(VulnDbFixture db, GoProgramsFixture programs) : IClassFixture<GoProgramsFixture>
{
    private static readonly FileLocation Location = new("sha256:layer", "/usr/local/bin/app");

    private static IReadOnlyList<Package> PackagesOf(string path)
    {
        using var file = File.OpenRead(path);
        var info = GoBuildInfoReader.TryRead(file, CancellationToken.None);
        Assert.NotNull(info);
        return GoPackages.From(info, Location);
    }

    [Fact]
    public void From_StdlibOnlyProgram_GivesStdlibWithKnownAdvisories()
    {
        var stdlib = Assert.Single(PackagesOf(programs.Hello));
        Assert.Equal(("stdlib", PackageType.GoModule, "Go"), (stdlib.Name, stdlib.Type, stdlib.Ecosystem));
        Assert.StartsWith("1.19.", stdlib.Version, StringComparison.Ordinal);
        Assert.Equal($"pkg:golang/stdlib@{stdlib.Version}", stdlib.Purl);

        var findings = Matcher.Match([stdlib], db.Database);

        // HTTP/2 rapid reset: every Go before 1.20.10 (and 1.21.0 to 1.21.3).
        var rapidReset = Assert.Single(findings, f => f.AdvisoryId == "GO-2023-2102");
        Assert.Equal("1.20.10", rapidReset.FixedVersion);
        Assert.Contains("CVE-2023-39325", rapidReset.Aliases);
        Assert.True(findings.Count > 20, $"{findings.Count} stdlib findings");
        Assert.DoesNotContain(findings, f => f.AdvisoryId == "GO-2022-0515"); // fixed in 1.17.12 and 1.18.4
    }

    [Fact]
    public void From_VendoredProgram_GivesEffectiveModulesWithTheirAdvisories()
    {
        var packages = PackagesOf(programs.App);

        Assert.Equal(
            ["golang.org/x/net@0.0.0-20210220033148-5ea612d1eb83", "golang.org/x/text@0.3.5", "stdlib@1.19"],
            packages.Select(p => $"{p.Name}@{(p.Name == "stdlib" ? p.Version[..4] : p.Version)}").Order(StringComparer.Ordinal));
        Assert.All(packages, p => Assert.Equal(Location, p.Location));

        var findings = Matcher.Match(packages, db.Database);
        string[] fixes(string module) => findings.Where(f => f.Package.Name == module).Select(f => $"{f.AdvisoryId}:{f.FixedVersion}").Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(["GO-2021-0113:0.3.7", "GO-2022-1059:0.3.8", "GO-2026-5970:0.39.0"], fixes("golang.org/x/text"));
        var net = fixes("golang.org/x/net");
        Assert.Contains("GO-2021-0238:0.0.0-20210520170846-37e1c6afe023", net); // fixed by a later pseudo-version
        Assert.Contains("GO-2022-0236:0.0.0-20210428140749-89ef3d95e781", net);
        Assert.DoesNotContain(net, f => f.StartsWith("GO-2020-0014:", StringComparison.Ordinal)); // fixed by an earlier one
        Assert.DoesNotContain(findings, f => f.Package.Name is "github.com/acme/net" or "example.com/local");
    }
}
