using System.Net.Http.Json;
using System.Text.Json;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;

namespace Berth.Server.IntegrationTests.Pipeline;

/// <summary>
/// Scanning out of the box: the shared server was started with no <c>Scan:Database</c>, so it installed its
/// bundled snapshot, and vulnerable OS and language packages fail jobs with no database flag at all.
/// </summary>
[Collection(BerthCollection.Name)]
public sealed class ScanDatabaseTests(BerthFixture fixture)
{
    private const string Done = "CMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n";

    [Fact]
    public async Task DefaultServer_VulnerableAlpinePackage_FailsVulnerable()
    {
        var job = await fixture.Api.RunAsync(
            "FROM busybox:latest\n" +
            "RUN mkdir -p /lib/apk/db && printf 'ID=alpine\\nVERSION_ID=3.11.6\\n' > /etc/os-release && " +
            "printf 'P:musl\\nV:1.1.23-r1\\no:musl\\n\\n' > /lib/apk/db/installed\n" + Done);

        Assert.Equal(FailureReasons.Vulnerable, job.Failure?.Reason);
        Assert.Contains("ALPINE-CVE-2019-14697 (unknown) in musl 1.1.23-r1, fixed in 1.1.23-r2", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Equal("bundled", job.Scan?.Database?.Source);
    }

    [Fact]
    public async Task DefaultServer_VulnerableDebianPythonAndAnNpmPackage_FailVulnerableAndSayWhatWasNotChecked()
    {
        var job = await fixture.Api.RunAsync(
            "FROM busybox:latest\n" +
            "RUN mkdir -p /var/lib/dpkg /usr/lib/python3/site-packages/urllib3-1.26.16.dist-info /app/node_modules/lodash && " +
            "printf 'ID=debian\\nVERSION_ID=\"11\"\\n' > /etc/os-release && " +
            "printf 'Package: libssl1.1\\nStatus: install ok installed\\nSource: openssl\\nVersion: 1.1.1n-0+deb11u3\\n' > /var/lib/dpkg/status && " +
            "printf 'Name: urllib3\\nVersion: 1.26.16\\n' > /usr/lib/python3/site-packages/urllib3-1.26.16.dist-info/METADATA && " +
            "printf '{\"name\":\"lodash\",\"version\":\"4.17.15\"}' > /app/node_modules/lodash/package.json\n" + Done);

        Assert.Equal(FailureReasons.Vulnerable, job.Failure?.Reason);
        Assert.Equal(3, job.Scan?.Packages);
        var report = await fixture.Api.Client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{job.Id}/report");
        var ids = report.GetProperty("scan").GetProperty("details").EnumerateArray().Select(f => f.GetProperty("advisoryId").GetString()).ToList();
        Assert.Contains("DSA-5343-1", ids);
        Assert.Contains("PYSEC-2023-192", ids);
        // The bundled snapshot has no npm data: the job view says so instead of implying lodash was checked.
        Assert.Contains(job.Scan!.Warnings, w => w.Contains("1 npm package(s) were not checked", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DefaultServer_JobViewReportAndReadyz_ShowTheDatabase()
    {
        var job = await fixture.Api.RunAsync("FROM busybox:latest\n" + Done);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal("bundled", job.Scan?.Database?.Source);
        Assert.True(job.Scan?.Database?.Records > 18_000, $"{job.Scan?.Database?.Records} records");
        Assert.True(job.Scan?.Database?.AgeDays > 0);
        var report = await fixture.Api.Client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{job.Id}/report");
        var database = report.GetProperty("scan").GetProperty("database");
        Assert.Equal("bundled", database.GetProperty("source").GetString());
        Assert.StartsWith("2023-04-02", database.GetProperty("dataUpTo").GetProperty("Debian").GetString(), StringComparison.Ordinal);
        var ready = await fixture.Api.Client.GetFromJsonAsync<JsonElement>("/readyz");
        Assert.Equal("bundled", ready.GetProperty("database").GetProperty("source").GetString());
        Assert.Equal(job.Scan!.Database!.Records, ready.GetProperty("database").GetProperty("records").GetInt32());
    }
}
