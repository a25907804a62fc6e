using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Sandbox;

/// <summary>The core job cases again, under gVisor.</summary>
[Collection(BerthCollection.Name)]
public sealed class RunscTests(BerthFixture shared)
{
    [Fact]
    public async Task Runsc_CoreCases_BehaveAsUnderRunc()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("runsc"), new Dictionary<string, string>
        {
            ["Sandbox:Runtime"] = "runsc",
            ["Scan:Enabled"] = "false",
        });
        var api = new BerthApi(server.Client);

        var jobs = await Task.WhenAll(
            api.RunAsync(Busybox("echo '{\"perf\": 0.99}' > /data/perf.json")),
            api.RunAsync(Busybox("echo \"{\\\"perf\\\": $(id -u)}\" > /data/perf.json", "USER root\n")),
            api.RunAsync(Busybox("echo \"{\\\"perf\\\": $(ls /sys/class/net | wc -l)}\" > /data/perf.json")),
            api.RunAsync(Busybox("n=0; for d in / /etc /bin; do touch $d/x 2>/dev/null && n=$((n+1)); done; touch /tmp/x && n=$((n+10)); echo \"{\\\"perf\\\": $n}\" > /data/perf.json")),
            api.RunAsync(Busybox("echo done")),
            api.RunAsync(Busybox("exit 3")),
            api.RunAsync(Busybox("sleep 60"), new { timeoutSeconds = 3 }),
            api.RunAsync(Busybox("dd if=/dev/zero of=/data/fill bs=1M count=64"), new { dataMb = 8 }));

        Assert.Equal((JobStatus.Succeeded, 0.99), (jobs[0].Status, jobs[0].Performance));
        Assert.Equal(65534, jobs[1].Performance);
        Assert.Equal(1, jobs[2].Performance);          // only lo
        Assert.Equal(10, jobs[3].Performance);         // only /tmp (and /data) take writes
        Assert.Equal(FailureReasons.PerfMissing, jobs[4].Failure?.Reason);
        Assert.Equal(FailureReasons.NonzeroExit, jobs[5].Failure?.Reason);
        Assert.Equal(FailureReasons.Timeout, jobs[6].Failure?.Reason);
        Assert.Equal(FailureReasons.DataQuotaExceeded, jobs[7].Failure?.Reason);
        foreach (var job in jobs)
        {
            Assert.Empty(await shared.Docker.JobContainersAsync(job.Id));
        }
        Assert.Contains("\"Runtime\":\"runsc\"", server.Log.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runsc_WithATooLowPidsLimit_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => BerthProcess.StartAsync(TempRoot.Create("runsc-pids"),
            new Dictionary<string, string> { ["Sandbox:Runtime"] = "runsc", ["Limits:PidsLimit"] = "64" }));
        Assert.Contains("Sandbox:Runtime=runsc needs Limits:PidsLimit of at least 128", error.Message, StringComparison.Ordinal);
    }
}
