using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Sandbox;

/// <summary>Files a job leaves for Berth to read (perf.json, package.json in its image) and /data run out of inodes: each ends in its documented reason.</summary>
[Collection(BerthCollection.Name)]
public sealed class HostileFileTests(BerthFixture fixture)
{
    private BerthApi Api => fixture.Api;

    private void AssertNoInternalError(string jobId) =>
        Assert.DoesNotContain($"Job {jobId} failed with an internal error", fixture.Server.Log, StringComparison.Ordinal);

    [Theory]
    [InlineData("printf '%s' '{\"\\ud800\": 1, \"perf\": 0.6}' > /data/perf.json")] // escaped lone surrogate in a key
    [InlineData("printf '{\"\\355\\240\\200\": 1, \"perf\": 0.6}' > /data/perf.json")] // the same surrogate as raw CESU-8 bytes
    [InlineData("printf '%s' '{\"perf\": 0.6, \"note\": \"\\udc00\"}' > /data/perf.json")] // in a value
    public async Task PerfJsonWithALoneSurrogate_IsPerfInvalid(string script)
    {
        var job = await Api.RunAsync(Busybox(script));

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.PerfInvalid, job.Failure?.Reason);
        Assert.Contains("not valid Unicode", job.Failure?.Message, StringComparison.Ordinal);
        AssertNoInternalError(job.Id);
    }

    [Fact]
    public async Task PackageJsonWithALoneSurrogateKey_IsSkippedWithAWarningAndTheJobRuns()
    {
        var job = await Api.RunAsync(
            "FROM busybox:latest\n" +
            "RUN mkdir -p /app/node_modules/evil /app/node_modules/good && " +
            "printf '%s' '{\"\\ud800\": 1, \"name\": \"evil\", \"version\": \"1.0.0\"}' > /app/node_modules/evil/package.json && " +
            "printf '%s' '{\"name\": \"good\", \"version\": \"1.0.0\"}' > /app/node_modules/good/package.json\n" +
            "CMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 0.5}' > /data/perf.json\"]\n");

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(0.5, job.Performance);
        Assert.Equal(ScanStatus.Passed, job.Scan?.Status);
        Assert.Equal(1, job.Scan?.Packages);
        Assert.Contains(job.Scan!.Warnings, w => w.Contains("/app/node_modules/evil/package.json is not valid JSON", StringComparison.Ordinal));
        AssertNoInternalError(job.Id);
    }

    [Theory]
    [InlineData("true")] // exits 0 without perf.json: the collect stage decides
    [InlineData("exit 3")] // exits non-zero: the run stage decides
    public async Task ExhaustingDataInodes_IsDataQuotaExceeded(string last)
    {
        // A 4 MiB ext4 has about a thousand inodes and megabytes of free space: only the inodes run out.
        var job = await Api.RunAsync(Busybox(
            "i=0; while touch /data/f$i 2>/dev/null; do i=$((i+1)); done; echo made $i files; " +
            $"echo '{{\"perf\": 1}}' > /data/perf.json; {last}"), new { dataMb = 4 });

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.DataQuotaExceeded, job.Failure?.Reason);
        Assert.Contains("inodes", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Matches("made [0-9]{3,4} files", await Api.LogsAsync(job.Id));
        var jobDir = Path.Combine(fixture.Server.DataRoot, "jobs", job.Id);
        Assert.True(await EventuallyAsync(() => !File.ReadAllText("/proc/self/mountinfo").Contains(jobDir, StringComparison.Ordinal)), "/data stayed mounted");
    }
}
