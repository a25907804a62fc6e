using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
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
        AssertJobUid(jobs[1].Performance);
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
    public async Task Runsc_WithTheJobSeccompProfileInTheSpec_RunsThreadedGlibcPrograms()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("runsc-seccomp"), new Dictionary<string, string>
        {
            ["Sandbox:Runtime"] = "runsc",
            ["Scan:Enabled"] = "false",
        });

        var (job, logs) = await SeccompProbe.RunAsync(new BerthApi(server.Client));

        // runsc, started without --oci-seccomp, does not apply the profile ("Seccomp spec is being ignored"): the probe's
        // refusal checks meet gVisor's kernel, not the host's, and are not asserted here. The container must start and
        // ordinary programs must run.
        Assert.True(job.Status == JobStatus.Succeeded, $"{job.Status} {job.Failure?.Reason}\n{logs}");
        foreach (var check in new[] { "fork works", "threads work", "statx works", "unix socket works" })
        {
            Assert.Contains("ok " + check, logs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Runsc_SandboxProcesses_AreRecordedRecognisedAndForgottenOnceGone()
    {
        var root = TempRoot.Create("runsc-janitor");
        await using var server = await BerthProcess.StartAsync(root, new Dictionary<string, string>
        {
            ["Sandbox:Runtime"] = "runsc",
            ["Scan:Enabled"] = "false",
            ["Berth:JanitorIntervalSeconds"] = "5",
        });
        var api = new BerthApi(server.Client);
        var job = await api.SubmitAsync(Busybox("sleep 60"));
        await shared.Docker.WaitForJobContainerAsync(job.Id);
        var containerId = (await shared.Docker.JobContainersAsync(job.Id))[0].ID;
        var runsc = FileIdentity.Of(await shared.Docker.RunscPathAsync());
        List<RunscProcess> processes = [];
        for (var i = 0; i < 100 && processes.Count < 2; i++)
        {
            await Task.Delay(100);
            processes = RunscProcesses.Find("/proc").Where(p => p.ContainerId == containerId).ToList();
        }

        // gVisor's gofer and sandbox name the container on their command line and in their cgroup, and run the engine's
        // runsc binary: the janitor would kill them once the engine no longer had this (recorded) container.
        Assert.True(processes.Count >= 2, $"gVisor processes recognised for {containerId}: {string.Join(", ", processes)}");
        Assert.All(processes, p => Assert.Equal(runsc, p.Executable));
        var record = Path.Combine(root, RunscContainers.DirectoryName, containerId);
        Assert.True(File.Exists(record));

        using (await server.Client.PostAsync(new Uri($"/api/v1/jobs/{job.Id}/cancel", UriKind.Relative), null))
        {
        }
        await api.WaitTerminalAsync(job.Id);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (File.Exists(record) && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(250);
        }
        Assert.False(File.Exists(record)); // the container and its processes are gone: the janitor forgot it
        Assert.DoesNotContain(RunscProcesses.Find("/proc"), p => p.ContainerId == containerId);
    }

    [Fact]
    public async Task Runsc_WithATooLowPidsLimit_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => BerthProcess.StartAsync(TempRoot.Create("runsc-pids"),
            new Dictionary<string, string> { ["Sandbox:Runtime"] = "runsc", ["Limits:PidsLimit"] = "64" }));
        Assert.Contains("Sandbox:Runtime=runsc needs Limits:PidsLimit of at least 128", error.Message, StringComparison.Ordinal);
    }
}
