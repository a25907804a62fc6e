using System.Text.Json;
using Berth.Scanner.Matching;
using Berth.Scanner.Packages;
using Berth.Scanner.Policy;
using Berth.Scanner.Reports;
using Berth.Scanner.Severity;

namespace Berth.Scanner.Tests.Reports;

public sealed class ReportTests
{
    private static readonly Package Urllib3 = new("urllib3", "1.26.16", PackageType.Python, "PyPI", "urllib3", "1.26.16", new FileLocation("sha256:abc", "/usr/lib/python3/site-packages/urllib3-1.26.16.dist-info/METADATA"));

    private static readonly Finding High = new("PYSEC-2023-192", ["CVE-2023-43804"], "Cookie leak", Urllib3, "urllib3", "1.26.16", "1.26.17", SeverityLevel.High, 8.1);

    [Fact]
    public void CycloneDx_HasComponentsWithPurlsAndVulnerabilities()
    {
        var result = new ScanResult(new Distro("debian", "12", null), [Urllib3], [High], []);

        var bom = JsonDocument.Parse(CycloneDx.ToJson(CycloneDx.Create("berth/job-x", result, [High], DateTimeOffset.UnixEpoch, Guid.Empty))).RootElement;

        Assert.Equal("CycloneDX", bom.GetProperty("bomFormat").GetString());
        Assert.Equal("1.5", bom.GetProperty("specVersion").GetString());
        var components = bom.GetProperty("components").EnumerateArray().ToList();
        Assert.Equal("operating-system", components[0].GetProperty("type").GetString());
        Assert.Equal("pkg:pypi/urllib3@1.26.16", components[1].GetProperty("purl").GetString());
        var vulnerability = bom.GetProperty("vulnerabilities")[0];
        Assert.Equal("PYSEC-2023-192", vulnerability.GetProperty("id").GetString());
        Assert.Equal(components[1].GetProperty("bom-ref").GetString(), vulnerability.GetProperty("affects")[0].GetProperty("ref").GetString());
        Assert.Equal(8.1, vulnerability.GetProperty("ratings")[0].GetProperty("score").GetDouble());
    }

    [Fact]
    public void FailureMessage_NamesCountsAndTheWorstFindings()
    {
        var verdict = ScanPolicy.Default.Evaluate([High], new DateOnly(2026, 11, 23));

        var message = ScanReport.FailureMessage(verdict, ScanPolicy.Default);

        Assert.Equal("1 finding(s) fail the policy (fail on high, or unknown severity with a fix): PYSEC-2023-192 (high) in urllib3 1.26.16, fixed in 1.26.17", message);
    }

    [Fact]
    public void Report_LockfileOnlyPackage_IsMarkedInTheFindingAndTheSbom()
    {
        var lodash = new Package("lodash", "4.17.15", PackageType.Npm, "npm", "lodash", "4.17.15", new FileLocation("sha256:abc", "/app/package-lock.json"), PackageEvidence.Lockfile);
        var finding = new Finding("GHSA-x", [], "Prototype pollution", lodash, "lodash", "4.17.15", "4.17.21", SeverityLevel.High, 7.4);
        var result = new ScanResult(null, [lodash], [finding], []);
        var verdict = ScanPolicy.Default.Evaluate([finding], new DateOnly(2026, 11, 30));

        var report = ScanReport.Create("img", result, verdict, ScanPolicy.Default, new DatabaseInfo("bundled", 1, 0, null, null, null, null));
        var bom = JsonDocument.Parse(CycloneDx.ToJson(CycloneDx.Create("img", result, verdict.Findings, DateTimeOffset.UnixEpoch, Guid.Empty))).RootElement;

        Assert.Equal("lockfile", Assert.Single(report.Details).Evidence);
        var properties = bom.GetProperty("components").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "lodash").GetProperty("properties");
        Assert.Contains(properties.EnumerateArray(), p => p.GetProperty("name").GetString() == "berth:evidence" && p.GetProperty("value").GetString() == "lockfile");
    }
}
