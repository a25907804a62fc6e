using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Scanner.Reports;

namespace Berth.Scanner.Tests.Reports;

public sealed class CycloneDxTests
{
    private static readonly Guid Serial = Guid.Parse("3e671687-395b-41f5-a30f-a58921a69b79");

    private static string Bom() =>
        CycloneDx.ToJson(CycloneDx.Create(SampleScan.Image, SampleScan.Result, SampleScan.Verdict.Findings, DateTimeOffset.UnixEpoch, Serial));

    private static Dictionary<string, JsonElement> Vulnerabilities(string json) =>
        JsonDocument.Parse(json).RootElement.GetProperty("vulnerabilities").EnumerateArray().ToDictionary(v => v.GetProperty("id").GetString()!);

    [Fact]
    public void Create_EverySeverityIgnoredAndUnfixedFindings_ValidatesAgainstCycloneDx15Schema()
    {
        var json = Bom();

        Assert.Empty(Schemas.CycloneDxErrors(json));
        Assert.Equal(7, Vulnerabilities(json).Count);
    }

    [Fact]
    public void Create_EmptyScan_Validates()
    {
        var json = CycloneDx.ToJson(CycloneDx.Create(SampleScan.Image, new ScanResult(null, [], [], []), [], DateTimeOffset.UnixEpoch, Serial));

        Assert.Empty(Schemas.CycloneDxErrors(json));
        Assert.Equal(0, JsonDocument.Parse(json).RootElement.GetProperty("vulnerabilities").GetArrayLength());
    }

    [Fact]
    public void CycloneDxErrors_InvalidBom_AreReported()
    {
        var bom = JsonNode.Parse(Bom())!;
        bom["vulnerabilities"]![0]!["ratings"]![0]!["severity"] = "catastrophic";
        bom["vulnerabilities"]![1]!["analysis"] = new JsonObject { ["state"] = "will_not_fix" };

        var errors = Schemas.CycloneDxErrors(bom.ToJsonString());

        Assert.Contains(errors, e => e.StartsWith("/vulnerabilities/0/ratings/0/severity", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("/vulnerabilities/1/analysis/state", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_Affects_PointAtComponentBomRefs_AllBomRefsUnique()
    {
        var root = JsonDocument.Parse(Bom()).RootElement;

        var componentRefs = root.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("bom-ref").GetString()!).ToList();
        var vulnerabilityRefs = root.GetProperty("vulnerabilities").EnumerateArray().Select(v => v.GetProperty("bom-ref").GetString()!).ToList();
        var allRefs = componentRefs.Concat(vulnerabilityRefs).Append("image").ToList();
        Assert.Equal(allRefs.Count, allRefs.Distinct().Count());
        var affects = root.GetProperty("vulnerabilities").EnumerateArray()
            .SelectMany(v => v.GetProperty("affects").EnumerateArray().Select(a => a.GetProperty("ref").GetString())).ToList();
        Assert.All(affects, a => Assert.Contains(a, componentRefs));
        var dsa = Vulnerabilities(Bom())["DSA-5500-1"];
        Assert.Equal([CycloneDx.Ref(SampleScan.LibSsl), CycloneDx.Ref(SampleScan.OpenSsl)],
            dsa.GetProperty("affects").EnumerateArray().Select(a => a.GetProperty("ref").GetString()));
        Assert.Equal("pkg:deb/debian/libssl3@3.0.9-1?file=%2Fvar%2Flib%2Fdpkg%2Fstatus", CycloneDx.Ref(SampleScan.LibSsl));
        Assert.Equal("3.0.9-1", dsa.GetProperty("affects")[0].GetProperty("versions")[0].GetProperty("version").GetString());
        Assert.Equal("vulnerability:DSA-5500-1", dsa.GetProperty("bom-ref").GetString());
    }

    [Fact]
    public void Create_Ratings_ScoreAndMethodWhenKnown_SeverityAlways()
    {
        var vulnerabilities = Vulnerabilities(Bom());

        var scored = vulnerabilities["PYSEC-2023-192"].GetProperty("ratings")[0];
        Assert.Equal(8.1, scored.GetProperty("score").GetDouble());
        Assert.Equal("high", scored.GetProperty("severity").GetString());
        Assert.Equal("CVSSv3", scored.GetProperty("method").GetString());
        var textOnly = vulnerabilities["PYSEC-2023-74"].GetProperty("ratings")[0];
        Assert.Equal("medium", textOnly.GetProperty("severity").GetString());
        Assert.False(textOnly.TryGetProperty("score", out _));
        Assert.False(textOnly.TryGetProperty("method", out _));
        Assert.Equal("unknown", vulnerabilities["DEBIAN-CVE-2023-45853"].GetProperty("ratings")[0].GetProperty("severity").GetString());
        Assert.Equal("none", vulnerabilities["DLA-3000-1"].GetProperty("ratings")[0].GetProperty("severity").GetString());
    }

    [Fact]
    public void Create_SourceDescriptionAndRecommendation()
    {
        var vulnerabilities = Vulnerabilities(Bom());

        var urllib3 = vulnerabilities["PYSEC-2023-192"];
        Assert.Equal("OSV", urllib3.GetProperty("source").GetProperty("name").GetString());
        Assert.Equal(SampleScan.GhsaUrl, urllib3.GetProperty("source").GetProperty("url").GetString());
        Assert.Equal("https://osv.dev/vulnerability/DSA-5500-1", vulnerabilities["DSA-5500-1"].GetProperty("source").GetProperty("url").GetString());
        Assert.Equal("openssl - security update", vulnerabilities["DSA-5500-1"].GetProperty("description").GetString());
        Assert.Equal("Upgrade to 3.0.11-1~deb12u1", vulnerabilities["DSA-5500-1"].GetProperty("recommendation").GetString());
        Assert.Equal("Upgrade to 1.26.17", urllib3.GetProperty("recommendation").GetString());
        Assert.False(vulnerabilities["DEBIAN-CVE-2023-45853"].TryGetProperty("recommendation", out _));
        Assert.Equal(["CVE-2023-43804", "GHSA-v845-jxx5-vc9f"],
            urllib3.GetProperty("references").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
    }

    [Fact]
    public void Create_IgnoredFindings_HaveAnalysisWithResponseAndReason()
    {
        var vulnerabilities = Vulnerabilities(Bom());

        var accepted = vulnerabilities["GHSA-lpad-0000-0001"].GetProperty("analysis");
        Assert.Equal("exploitable", accepted.GetProperty("state").GetString());
        Assert.Equal(["will_not_fix"], accepted.GetProperty("response").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("ignored by policy: the padding code is never called", accepted.GetProperty("detail").GetString());
        var unfixed = vulnerabilities["DEBIAN-CVE-2023-45853"].GetProperty("analysis");
        Assert.Equal(["can_not_fix"], unfixed.GetProperty("response").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("no fix available", unfixed.GetProperty("detail").GetString());
        Assert.False(vulnerabilities["DSA-5500-1"].TryGetProperty("analysis", out _));
    }

    [Fact]
    public void Create_SomeFindingsOfAnAdvisoryIgnored_NoAnalysis_IgnoredOnesListedAsProperties()
    {
        var findings = SampleScan.Verdict.Findings
            .Select(f => f.AdvisoryId == "DSA-5500-1" && f.Package == SampleScan.OpenSsl ? f with { Ignored = "ignored by policy: not shipped" } : f)
            .ToList();

        var json = CycloneDx.ToJson(CycloneDx.Create(SampleScan.Image, SampleScan.Result, findings, DateTimeOffset.UnixEpoch, Serial));

        var dsa = Vulnerabilities(json)["DSA-5500-1"];
        Assert.False(dsa.TryGetProperty("analysis", out _));
        var property = Assert.Single(dsa.GetProperty("properties").EnumerateArray());
        Assert.Equal("berth:ignored", property.GetProperty("name").GetString());
        Assert.Equal($"{CycloneDx.Ref(SampleScan.OpenSsl)}: ignored by policy: not shipped", property.GetProperty("value").GetString());
        Assert.Empty(Schemas.CycloneDxErrors(json));
    }

    [Fact]
    public void Create_FixedVersionsDiffer_RecommendationNamesEachPackage()
    {
        var findings = SampleScan.Verdict.Findings
            .Select(f => f.AdvisoryId == "DSA-5500-1" && f.Package == SampleScan.OpenSsl ? f with { MatchedName = "openssl-alt", FixedVersion = "3.0.12-1" } : f)
            .ToList();

        var json = CycloneDx.ToJson(CycloneDx.Create(SampleScan.Image, SampleScan.Result, findings, DateTimeOffset.UnixEpoch, Serial));

        Assert.Equal("Upgrade openssl to 3.0.11-1~deb12u1; Upgrade openssl-alt to 3.0.12-1",
            Vulnerabilities(json)["DSA-5500-1"].GetProperty("recommendation").GetString());
    }
}
