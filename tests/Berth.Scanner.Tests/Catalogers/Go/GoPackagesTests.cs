using System.IO.Compression;
using System.Text.Json;
using Berth.Scanner.Advisories;
using Berth.Scanner.Catalogers.Go;
using Berth.Scanner.Matching;
using Berth.Scanner.Packages;
using Berth.Scanner.Versions;

namespace Berth.Scanner.Tests.Catalogers.Go;

/// <summary>Build information → packages of the OSV Go ecosystem, spelt so that the bundled Go advisories match.</summary>
[Collection(VulnDbCollection.Name)]
public sealed class GoPackagesTests(VulnDbFixture db)
{
    private static readonly FileLocation Location = new("sha256:layer", "/usr/local/bin/app");

    [Theory]
    [InlineData("go1.19.8", "1.19.8")]
    [InlineData("go1.20", "1.20.0")]
    [InlineData("go1", "1.0.0")]
    [InlineData("go1.21rc2", "1.21.0-rc.2")]
    [InlineData("go1.9beta1", "1.9.0-beta.1")]
    [InlineData("go1.22.0 X:boringcrypto", "1.22.0")]
    [InlineData("go1.21.4-bigcorp", "1.21.4")]
    [InlineData(" go1.18.10 ", "1.18.10")]
    [InlineData("devel go1.23-1a2b3c4d Tue Jan 2 15:04:05 2024 +0000", null)]
    [InlineData("devel +b7a03c5 Tue Sep 1 2020", null)]
    [InlineData("go", null)]
    [InlineData("go1.x", null)]
    [InlineData("1.19.8", null)]
    [InlineData("", null)]
    public void StdlibVersion_ToolchainVersion_SpeltAsTheGoDatabase(string goVersion, string? expected) =>
        Assert.Equal(expected, GoPackages.StdlibVersion(goVersion));

    [Theory]
    [InlineData("v0.3.5", "0.3.5")]
    [InlineData("v0.0.0-20210220033148-5ea612d1eb83", "0.0.0-20210220033148-5ea612d1eb83")]
    [InlineData("v20.10.7+incompatible", "20.10.7+incompatible")]
    [InlineData("v1.2.3-rc.1", "1.2.3-rc.1")]
    [InlineData("(devel)", null)]
    [InlineData("", null)]
    [InlineData("v", null)]
    [InlineData("1.2.3", null)]
    public void ModuleVersion_BuildInfoVersion_WithoutTheV(string version, string? expected) =>
        Assert.Equal(expected, GoPackages.ModuleVersion(version));

    [Theory]
    [InlineData("go1.21rc2", true)]
    [InlineData("go1.21rc4", false)]
    [InlineData("go1.21.0", false)]
    [InlineData("go1.20.6", true)]
    [InlineData("go1.20.7", false)]
    public void From_PrereleaseToolchain_MatchesPrereleaseRanges(string goVersion, bool affected)
    {
        // GO-2023-1987: introduced 0, fixed 1.19.12, introduced 1.20.0-0, fixed 1.20.7, introduced 1.21.0-0, fixed 1.21.0-rc.4.
        var packages = GoPackages.From(new GoBuildInfo(goVersion, null, null, []), Location);
        Assert.Equal(affected, Matcher.Match(packages, db.Database).Any(f => f.AdvisoryId == "GO-2023-1987"));
    }

    [Fact]
    public void From_MainModuleAndReplacements_KeepsOnlyVersionedModules()
    {
        var info = new GoBuildInfo("go1.22.0 X:boringcrypto", "example.com/tool/cmd/tool", new GoModule("example.com/tool", "v1.4.0", null),
        [
            new GoModule("golang.org/x/text", "v0.3.5", null),
            new GoModule("github.com/docker/docker", "v20.10.7+incompatible", null),
            new GoModule("example.com/local", "v0.0.0-00010101000000-000000000000", new GoModule("../local", "", null)),
            new GoModule("example.com/devel", "v1.0.0", new GoModule("./devel", "(devel)", null)),
            new GoModule("example.com/fork", "v1.0.0", new GoModule("golang.org/x/text", "v0.3.5", null)),
            new GoModule("example.com/unversioned", "", null),
        ]);

        var packages = GoPackages.From(info, Location);

        Assert.Equal(
            ["stdlib@1.22.0", "example.com/tool@1.4.0", "golang.org/x/text@0.3.5", "github.com/docker/docker@20.10.7+incompatible"],
            packages.Select(p => $"{p.Name}@{p.Version}"));
        Assert.All(packages, p => Assert.Equal((p.Name, p.Version, "Go"), (p.SourceName, p.SourceVersion, p.Ecosystem)));
        Assert.Equal("pkg:golang/github.com/docker/docker@20.10.7%2Bincompatible", packages[3].Purl);
        Assert.Equal("pkg:golang/golang.org/x/text@0.3.5", packages[2].Purl);
    }

    [Fact]
    public void From_DevelToolchainWithoutModules_GivesNothing() =>
        Assert.Empty(GoPackages.From(new GoBuildInfo("devel go1.23-abc", null, new GoModule("x", "(devel)", null), []), Location));

    [Fact]
    public void IsAffected_EveryBundledGoRange_IntroducedIsAffectedAndFixedIsNot()
    {
        // Every event of every range in the real Go data, through the Go scheme: pseudo-versions,
        // pre-releases (1.21.0-0, 1.21.0-rc.4), +incompatible.
        var scheme = VersionSchemes.For("Go")!;
        using var zip = ZipFile.OpenRead(TestData.Path("vulndb", "Go", "all.zip"));
        var (checkedEvents, wrong) = (0, new List<string>());
        foreach (var entry in zip.Entries)
        {
            using var stream = entry.Open();
            var record = JsonSerializer.Deserialize<OsvRecord>(stream, OsvJson.Options)!;
            foreach (var affected in record.Affected!)
            {
                foreach (var e in affected.Ranges!.SelectMany(r => r.Events!))
                {
                    var (version, expected) = e.Introduced is { } i and not "0" ? (i, true) : e.Fixed is { } f ? (f, false) : (null, false);
                    if (version is null)
                    {
                        continue;
                    }
                    checkedEvents++;
                    if (Matcher.IsAffected(version, affected, scheme, out _) != expected)
                    {
                        wrong.Add($"{record.Id} {affected.Package!.Name} {version}");
                    }
                }
            }
        }
        Assert.True(checkedEvents > 5000, $"{checkedEvents} events");
        Assert.True(wrong.Count == 0, $"{wrong.Count} wrong, e.g. {string.Join(", ", wrong.Take(20))}");
    }
}
