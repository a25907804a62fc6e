using Berth.Scanner.Packages;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Scanner.Reports;

namespace Berth.Scanner.Tests.Reports;

public sealed class SarifTests
{
    private static JsonElement Run(string json) => JsonDocument.Parse(json).RootElement.GetProperty("runs")[0];

    private static Dictionary<string, JsonElement> Rules(JsonElement run) =>
        run.GetProperty("tool").GetProperty("driver").GetProperty("rules").EnumerateArray()
            .ToDictionary(r => r.GetProperty("id").GetString()!);

    private static List<JsonElement> Results(JsonElement run, string ruleId) =>
        run.GetProperty("results").EnumerateArray().Where(r => r.GetProperty("ruleId").GetString() == ruleId).ToList();

    [Fact]
    public void ToJson_EverySeverityIgnoredAndUnfixedFindings_ValidatesAgainstSarif210Schema()
    {
        var json = Sarif.ToJson(SampleScan.Report, "1.4.0");

        Assert.Empty(Schemas.SarifErrors(json));
        Assert.Equal(SampleScan.Findings.Count, Run(json).GetProperty("results").GetArrayLength());
    }

    [Fact]
    public void ToJson_EmptyReport_ValidatesWithNoRulesAndNoResults()
    {
        var json = Sarif.ToJson(SampleScan.EmptyReport, "1.4.0");

        Assert.Empty(Schemas.SarifErrors(json));
        var run = Run(json);
        Assert.Equal(0, run.GetProperty("results").GetArrayLength());
        Assert.Equal(0, run.GetProperty("tool").GetProperty("driver").GetProperty("rules").GetArrayLength());
    }

    [Fact]
    public void ToJson_IncompleteScanWithASecret_IsNotASuccessfulRunAndSaysWhy()
    {
        var secret = new ImageSecret("github-pat", "GitHub token", "critical", new FileLocation("sha256:abc", "/app/.env"), 1, "ghp_*****");
        var report = SampleScan.EmptyReport with { Incomplete = ["/var/lib/dpkg/status is a symbolic link (layer sha256:abc)"], Secrets = [secret] };

        var json = Sarif.ToJson(report, "1.4.0");

        Assert.Empty(Schemas.SarifErrors(json));
        var invocation = Run(json).GetProperty("invocations")[0];
        Assert.False(invocation.GetProperty("executionSuccessful").GetBoolean());
        var notes = invocation.GetProperty("toolExecutionNotifications").EnumerateArray()
            .Select(n => $"{n.GetProperty("level").GetString()}: {n.GetProperty("message").GetProperty("text").GetString()}").ToList();
        Assert.Contains("error: incomplete: /var/lib/dpkg/status is a symbolic link (layer sha256:abc)", notes);
        Assert.Contains("error: secret github-pat (critical) at /app/.env:1: ghp_*****", notes);
    }

    [Fact]
    public void SarifErrors_InvalidLog_AreReported()
    {
        var log = JsonNode.Parse(Sarif.ToJson(SampleScan.Report, "1.4.0"))!;
        log["runs"]![0]!["results"]![0]!["level"] = "fatal";
        log["runs"]![0]!["results"]![1]!["locations"]![0]!["physicalLocation"]!["region"]!["startLine"] = 0;

        var errors = Schemas.SarifErrors(log.ToJsonString());

        Assert.Contains(errors, e => e.StartsWith("/runs/0/results/0/level", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("/runs/0/results/1/locations/0/physicalLocation/region/startLine", StringComparison.Ordinal));
    }

    [Fact]
    public void ToJson_Driver_IsBerthWithVersionAndSemanticVersion()
    {
        var driver = Run(Sarif.ToJson(SampleScan.Report, "1.4.0+abc123")).GetProperty("tool").GetProperty("driver");

        Assert.Equal("Berth", driver.GetProperty("name").GetString());
        Assert.Equal("1.4.0+abc123", driver.GetProperty("version").GetString());
        Assert.Equal("1.4.0+abc123", driver.GetProperty("semanticVersion").GetString());
        Assert.False(driver.TryGetProperty("informationUri", out _));
    }

    [Fact]
    public void ToJson_VersionNotSemVer_OmitsSemanticVersion_DefaultIsTheLibraryVersion()
    {
        var driver = Run(Sarif.ToJson(SampleScan.Report, "dev build")).GetProperty("tool").GetProperty("driver");
        var byDefault = Run(Sarif.ToJson(SampleScan.Report)).GetProperty("tool").GetProperty("driver");

        Assert.Equal("dev build", driver.GetProperty("version").GetString());
        Assert.False(driver.TryGetProperty("semanticVersion", out _));
        Assert.Equal(Sarif.ScannerVersion, byDefault.GetProperty("version").GetString());
    }

    [Fact]
    public void ToJson_Rules_OnePerAdvisoryWithTagsAndSecuritySeverity()
    {
        var rules = Rules(Run(Sarif.ToJson(SampleScan.Report, "1.4.0")));

        Assert.Equal(
            ["DEBIAN-CVE-2023-45853", "DLA-3000-1", "DSA-5500-1", "GHSA-j8r2-6x86-q33q", "GHSA-lpad-0000-0001", "PYSEC-2023-192", "PYSEC-2023-74"],
            rules.Keys.Order(StringComparer.Ordinal));
        string? SecuritySeverity(string id) =>
            rules[id].GetProperty("properties").TryGetProperty("security-severity", out var s) ? s.GetString() : null;
        Assert.Equal("9.8", SecuritySeverity("DSA-5500-1"));          // CVSS score
        Assert.Equal("8.1", SecuritySeverity("PYSEC-2023-192"));
        Assert.Equal("6.1", SecuritySeverity("GHSA-j8r2-6x86-q33q"));
        Assert.Equal("5.5", SecuritySeverity("PYSEC-2023-74"));       // medium, no score: the band's middle
        Assert.Equal("2.0", SecuritySeverity("GHSA-lpad-0000-0001")); // low, no score
        Assert.Equal("0.0", SecuritySeverity("DLA-3000-1"));          // score 0: no security severity on GitHub
        Assert.Null(SecuritySeverity("DEBIAN-CVE-2023-45853"));       // unknown
        Assert.All(rules.Values, r => Assert.Equal(["security", "vulnerability"],
            r.GetProperty("properties").GetProperty("tags").EnumerateArray().Select(t => t.GetString())));
    }

    [Fact]
    public void ToJson_Rule_HasSummaryHelpWithFixedVersionAndAdvisoryLink()
    {
        var rules = Rules(Run(Sarif.ToJson(SampleScan.Report, "1.4.0")));

        var dsa = rules["DSA-5500-1"];
        Assert.Equal("openssl - security update", dsa.GetProperty("shortDescription").GetProperty("text").GetString());
        var help = dsa.GetProperty("help").GetProperty("text").GetString();
        Assert.Contains("- libssl3 3.0.9-1 (/var/lib/dpkg/status): fixed in 3.0.11-1~deb12u1", help);
        Assert.Contains("- openssl 3.0.9-1 (/var/lib/dpkg/status): fixed in 3.0.11-1~deb12u1", help);
        Assert.False(dsa.TryGetProperty("helpUri", out _));
        Assert.Contains("zlib1g 1:1.2.13.dfsg-1 (/var/lib/dpkg/status): no fixed version is known",
            rules["DEBIAN-CVE-2023-45853"].GetProperty("help").GetProperty("text").GetString());
        Assert.Equal("DLA-3000-1 in tar", rules["DLA-3000-1"].GetProperty("shortDescription").GetProperty("text").GetString());
        Assert.Equal(SampleScan.GhsaUrl, rules["PYSEC-2023-192"].GetProperty("helpUri").GetString());
    }

    [Fact]
    public void ToJson_HelpMarkdown_EscapesAdvisoryText()
    {
        var rules = Rules(Run(Sarif.ToJson(SampleScan.Report, "1.4.0")));

        var markdown = rules["PYSEC-2023-192"].GetProperty("help").GetProperty("markdown").GetString();

        Assert.Contains(@"Cookie leak on \[cross-origin\]\(https://evil.example\) redirect", markdown);
        Assert.Contains($"Advisory: <{SampleScan.GhsaUrl}>", markdown);
    }

    [Fact]
    public void ToJson_Results_LevelFromSeverity()
    {
        var run = Run(Sarif.ToJson(SampleScan.Report, "1.4.0"));

        string Level(string id) => Results(run, id)[0].GetProperty("level").GetString()!;
        Assert.Equal("error", Level("DSA-5500-1"));
        Assert.Equal("error", Level("PYSEC-2023-192"));
        Assert.Equal("warning", Level("GHSA-j8r2-6x86-q33q"));
        Assert.Equal("warning", Level("DEBIAN-CVE-2023-45853"));
        Assert.Equal("note", Level("GHSA-lpad-0000-0001"));
        Assert.Equal("note", Level("DLA-3000-1"));
    }

    [Fact]
    public void ToJson_Result_MessageNamesPackageInstalledAndFixedVersion()
    {
        var run = Run(Sarif.ToJson(SampleScan.Report, "1.4.0"));

        var urllib3 = Assert.Single(Results(run, "PYSEC-2023-192"));
        Assert.Equal("urllib3 1.26.16 is affected by PYSEC-2023-192 (high): fixed in 1.26.17.",
            urllib3.GetProperty("message").GetProperty("text").GetString());
        var zlib = Assert.Single(Results(run, "DEBIAN-CVE-2023-45853"));
        Assert.Equal("zlib1g 1:1.2.13.dfsg-1 (source package zlib 1:1.2.13.dfsg-1) is affected by DEBIAN-CVE-2023-45853 (unknown): no fixed version is known.",
            zlib.GetProperty("message").GetProperty("text").GetString());
    }

    [Fact]
    public void ToJson_Locations_AreRelativeEscapedPathsAtLine1()
    {
        var run = Run(Sarif.ToJson(SampleScan.Report, "1.4.0"));

        string Uri(string id) => Results(run, id)[0].GetProperty("locations")[0].GetProperty("physicalLocation")
            .GetProperty("artifactLocation").GetProperty("uri").GetString()!;
        Assert.Equal("usr/lib/python3/dist-packages/urllib3-1.26.16.dist-info/METADATA", Uri("PYSEC-2023-192"));
        Assert.Equal("var/lib/dpkg/status", Uri("DSA-5500-1"));
        Assert.Equal("srv/my%20app/node_modules/%40acme/left-pad/package.json", Uri("GHSA-lpad-0000-0001"));
        Assert.All(run.GetProperty("results").EnumerateArray(), r => Assert.Equal(1,
            r.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("region").GetProperty("startLine").GetInt32()));
    }

    [Fact]
    public void ToJson_IgnoredFindings_AreKeptAndSuppressedWithTheReason()
    {
        var run = Run(Sarif.ToJson(SampleScan.Report, "1.4.0"));

        var accepted = Assert.Single(Results(run, "GHSA-lpad-0000-0001")).GetProperty("suppressions");
        var suppression = Assert.Single(accepted.EnumerateArray());
        Assert.Equal("external", suppression.GetProperty("kind").GetString());
        Assert.Equal("accepted", suppression.GetProperty("state").GetString());
        Assert.Equal("ignored by policy: the padding code is never called", suppression.GetProperty("justification").GetString());
        var unfixed = Assert.Single(Results(run, "DEBIAN-CVE-2023-45853")).GetProperty("suppressions")[0];
        Assert.Equal("no fix available", unfixed.GetProperty("justification").GetString());
        Assert.False(Results(run, "DSA-5500-1")[0].TryGetProperty("suppressions", out _));
    }

    [Fact]
    public void ToJson_Fingerprints_DistinctPerPackage_StableAcrossScansAndVersions()
    {
        var run = Run(Sarif.ToJson(SampleScan.Report, "1.4.0"));
        var again = Run(Sarif.ToJson(SampleScan.Report, "1.5.0"));

        static string Fingerprint(JsonElement result) => result.GetProperty("partialFingerprints").GetProperty(Sarif.FingerprintKey).GetString()!;
        var all = run.GetProperty("results").EnumerateArray().Select(Fingerprint).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(all, again.GetProperty("results").EnumerateArray().Select(Fingerprint));
        var dsa = Results(run, "DSA-5500-1");
        Assert.Equal(2, dsa.Count);
        Assert.NotEqual(Fingerprint(dsa[0]), Fingerprint(dsa[1]));
        Assert.Equal(Sarif.Fingerprint("PYSEC-2023-192", "urllib3", SampleScan.Urllib3.Location.Path), Fingerprint(Results(run, "PYSEC-2023-192")[0]));
        Assert.Equal(64, all[0].Length);
    }

    [Fact]
    public void ToJson_RuleIndex_PointsAtTheRule()
    {
        var run = Run(Sarif.ToJson(SampleScan.Report, "1.4.0"));
        var rules = run.GetProperty("tool").GetProperty("driver").GetProperty("rules");

        Assert.All(run.GetProperty("results").EnumerateArray(), r => Assert.Equal(
            r.GetProperty("ruleId").GetString(), rules[r.GetProperty("ruleIndex").GetInt32()].GetProperty("id").GetString()));
    }

    [Fact]
    public void ToJson_Warnings_AreToolExecutionNotifications()
    {
        var invocation = Run(Sarif.ToJson(SampleScan.Report, "1.4.0")).GetProperty("invocations")[0];

        Assert.True(invocation.GetProperty("executionSuccessful").GetBoolean());
        Assert.Equal("a warning from the scan", invocation.GetProperty("toolExecutionNotifications")[0].GetProperty("message").GetProperty("text").GetString());
    }
}
