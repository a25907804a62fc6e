using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Pipeline;

/// <summary>The scan stage on real images, against the real advisory snapshot.</summary>
[Collection(BerthCollection.Name)]
public sealed class ScanTests(BerthFixture fixture)
{
    private const string SitePackages = "/usr/lib/python3/site-packages";

    private static string WithPythonPackage(string name, string version) =>
        $"FROM busybox:latest\n" +
        $"RUN mkdir -p {SitePackages}/{name}-{version}.dist-info && " +
        $"printf 'Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n' > {SitePackages}/{name}-{version}.dist-info/METADATA\n" +
        "CMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 0.99}' > /data/perf.json\"]\n";

    [Fact]
    public async Task Scan_KnownVulnerablePythonPackage_FailsVulnerableNamingTheAdvisory()
    {
        var job = await fixture.Api.RunAsync(WithPythonPackage("urllib3", "1.26.16"));

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.Vulnerable, job.Failure?.Reason);
        Assert.Contains("PYSEC-2023-192 (high) in urllib3 1.26.16, fixed in 1.26.17", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Equal(ScanStatus.Failed, job.Scan?.Status);
        Assert.True(job.Scan?.Findings.High >= 1);
        Assert.Equal(StageStatus.Failed, job.Stages.Single(s => s.Name == "scan").Status);
        Assert.Equal(StageStatus.Skipped, job.Stages.Single(s => s.Name == "run").Status);

        var report = await fixture.Api.Client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{job.Id}/report");
        var finding = report.GetProperty("scan").GetProperty("details").EnumerateArray().Single(f => f.GetProperty("advisoryId").GetString() == "PYSEC-2023-192");
        Assert.Equal("urllib3", finding.GetProperty("package").GetString());
        Assert.Equal("1.26.17", finding.GetProperty("fixedVersion").GetString());
        Assert.Equal("high", finding.GetProperty("severity").GetString());
        Assert.Contains("CVE-2023-43804", finding.GetProperty("aliases").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal($"{SitePackages}/urllib3-1.26.16.dist-info/METADATA", finding.GetProperty("location").GetProperty("path").GetString());
        Assert.StartsWith("sha256:", finding.GetProperty("location").GetProperty("layer").GetString(), StringComparison.Ordinal);
        Assert.NotEmpty(report.GetProperty("lint").EnumerateArray());

        using var sarif = await fixture.Api.Client.GetAsync(new Uri($"/api/v1/jobs/{job.Id}/report?format=sarif", UriKind.Relative));
        Assert.Equal("application/sarif+json", sarif.Content.Headers.ContentType?.MediaType);
        var run = JsonDocument.Parse(await sarif.Content.ReadAsStringAsync()).RootElement.GetProperty("runs")[0];
        Assert.Contains("PYSEC-2023-192", run.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("ruleId").GetString()));
        using var bom = await fixture.Api.Client.GetAsync(new Uri($"/api/v1/jobs/{job.Id}/report?format=cyclonedx", UriKind.Relative));
        Assert.Contains("PYSEC-2023-192", JsonDocument.Parse(await bom.Content.ReadAsStringAsync()).RootElement
            .GetProperty("vulnerabilities").EnumerateArray().Select(v => v.GetProperty("id").GetString()));
        using var unknown = await fixture.Api.Client.GetAsync(new Uri($"/api/v1/jobs/{job.Id}/report?format=xml", UriKind.Relative));
        await ProblemAsync(unknown, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Scan_SameImageWithTheFixedVersion_Succeeds()
    {
        var job = await fixture.Api.RunAsync(WithPythonPackage("urllib3", "2.2.3"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(0.99, job.Performance);
        Assert.Equal(ScanStatus.Passed, job.Scan?.Status);
        Assert.Equal(1, job.Scan?.Packages);
        Assert.Equal(StageStatus.Succeeded, job.Stages.Single(s => s.Name == "scan").Status);

        using var sbom = await fixture.Api.Client.GetAsync(new Uri($"/api/v1/jobs/{job.Id}/sbom", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, sbom.StatusCode);
        var bom = JsonDocument.Parse(await sbom.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("1.5", bom.GetProperty("specVersion").GetString());
        Assert.Contains("pkg:pypi/urllib3@2.2.3", bom.GetProperty("components").EnumerateArray().Select(c => c.TryGetProperty("purl", out var p) ? p.GetString() : null));
    }

    [Fact]
    public async Task Scan_DpkgStatusOfAnOldRelease_MatchesSourcePackages()
    {
        const string status = "Package: libssl1.1\\nStatus: install ok installed\\nArchitecture: amd64\\nSource: openssl\\nVersion: 1.1.1n-0+deb11u3\\n";
        var job = await fixture.Api.RunAsync(
            "FROM busybox:latest\n" +
            "RUN mkdir -p /var/lib/dpkg && printf 'ID=debian\\nVERSION_ID=\"11\"\\n' > /etc/os-release && " +
            $"printf '{status}' > /var/lib/dpkg/status\n" +
            "CMD [\"true\"]\n");

        Assert.Equal(FailureReasons.Vulnerable, job.Failure?.Reason);
        Assert.Contains("DSA-5343-1 (unknown) in libssl1.1 1.1.1n-0+deb11u3, fixed in 1.1.1n-0+deb11u4", job.Failure?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scan_RealDebianImage_ListsItsDpkgPackages()
    {
        var job = await fixture.Api.RunAsync("FROM debian:bookworm-slim\nCMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n");

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.True(job.Scan?.Packages > 50, $"{job.Scan?.Packages} packages");
        var report = await fixture.Api.Client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{job.Id}/report");
        Assert.Equal("12", report.GetProperty("scan").GetProperty("distro").GetProperty("versionId").GetString());
    }

    [Fact]
    public async Task Scan_IgnoredAdvisory_ByAlias_DoesNotFailTheJob()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("ignore"), new Dictionary<string, string>
        {
            ["Scan:Database"] = RepoPaths.VulnDb,
            ["Scan:Ignore:0:Id"] = "CVE-2023-43804",
            ["Scan:Ignore:0:Reason"] = "cookies are never forwarded across origins here",
            ["Scan:Ignore:0:Expires"] = "2099-12-31",
        });
        var api = new BerthApi(server.Client);

        var job = await api.RunAsync(WithPythonPackage("urllib3", "1.26.16"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(0, job.Scan?.Findings.High);
        var report = await server.Client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{job.Id}/report");
        var finding = report.GetProperty("scan").GetProperty("details").EnumerateArray().Single(f => f.GetProperty("advisoryId").GetString() == "PYSEC-2023-192");
        Assert.Equal("ignored by policy: cookies are never forwarded across origins here", finding.GetProperty("ignored").GetString());
    }

    [Fact]
    public async Task Scan_IgnoreRuleWithoutReason_StopsTheServerAtStartUp()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => BerthProcess.StartAsync(TempRoot.Create("badignore"),
            new Dictionary<string, string> { ["Scan:Ignore:0:Id"] = "CVE-2023-43804" }));
        Assert.Contains("Scan:Ignore:0 needs both an Id and a Reason", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scan_NoDatabaseAndNoneInstallable_NotReadyAndJobsFailScanFailed()
    {
        var root = TempRoot.Create("nodb");
        var folder = Path.Combine(root, "not-a-dir", "vulndb");
        await File.WriteAllTextAsync(Path.Combine(root, "not-a-dir"), "a file where the database's parent should be");
        await using var server = await BerthProcess.StartAsync(root, new Dictionary<string, string> { ["Scan:Database"] = folder }, readiness: "/healthz");

        using var ready = await server.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        var problem = await ProblemAsync(ready, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("scan_database_missing", problem.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        var job = await new BerthApi(server.Client).RunAsync(WithPythonPackage("urllib3", "2.2.3"));

        Assert.Equal(FailureReasons.ScanFailed, job.Failure?.Reason);
        Assert.Contains("no advisory database is installed", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Contains("berth db import", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Contains(job.Id, job.Failure?.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(root, job.Failure?.Message, StringComparison.Ordinal); // the host path goes to the server log only
        Assert.Contains(folder, server.Log, StringComparison.Ordinal);
        Assert.Contains("bundled advisory database could not be installed", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scan_Disabled_IsSkippedVisibly()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("noscan"), new Dictionary<string, string> { ["Scan:Enabled"] = "false" });
        var api = new BerthApi(server.Client);

        var job = await api.RunAsync(WithPythonPackage("urllib3", "1.26.16"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(StageStatus.Skipped, job.Stages.Single(s => s.Name == "scan").Status);
        Assert.Equal(ScanStatus.Skipped, job.Scan?.Status);
        Assert.Contains("Scan:Enabled=false", Assert.Single(job.Scan!.Warnings), StringComparison.Ordinal);
        using var sbom = await server.Client.GetAsync(new Uri($"/api/v1/jobs/{job.Id}/sbom", UriKind.Relative));
        await ProblemAsync(sbom, HttpStatusCode.NotFound);
    }
}
