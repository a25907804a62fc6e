using System.Net;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Sandbox;

/// <summary>Jobs that attack: each is contained with a clear outcome, and the service keeps working.</summary>
[Collection(BerthCollection.Name)]
public sealed class HostileJobTests(BerthFixture fixture)
{
    private BerthApi Api => fixture.Api;

    /// <summary>Runs a hostile job while a well-behaved one runs beside it; the good one must succeed.</summary>
    private async Task<JobView> RunBesideAGoodJobAsync(string dockerfile, object? limits = null)
    {
        var hostile = await Api.SubmitAsync(dockerfile, limits);
        var good = await Api.SubmitAsync(Busybox("echo '{\"perf\": 7}' > /data/perf.json"));
        using (var health = await Api.Client.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        var goodDone = await Api.WaitTerminalAsync(good.Id, 120);
        Assert.Equal(JobStatus.Succeeded, goodDone.Status);
        Assert.Equal(7, goodDone.Performance);
        var done = await Api.WaitTerminalAsync(hostile.Id, 120);
        Assert.Empty(await fixture.Docker.JobContainersAsync(done.Id));
        return done;
    }

    [Fact]
    public async Task ForkBomb_IsHeldByThePidsLimit()
    {
        var job = await RunBesideAGoodJobAsync(Busybox("bomb() { bomb | bomb & }; bomb; sleep 30"), new { timeoutSeconds = 6 });

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Contains(job.Failure?.Reason, new[] { FailureReasons.Timeout, FailureReasons.NonzeroExit });
    }

    [Fact]
    public async Task CpuSpinOnEveryCore_IsHeldByTheCpuQuotaAndTimeout()
    {
        var job = await RunBesideAGoodJobAsync(Busybox("for i in 1 2 3 4; do (while :; do :; done) & done; wait"), new { timeoutSeconds = 4, cpus = 0.5 });

        Assert.Equal(FailureReasons.Timeout, job.Failure?.Reason);
    }

    [Fact]
    public async Task SetuidBinary_GivesNoPrivileges()
    {
        // Built as root: a setuid-root copy of busybox. At run time no-new-privileges keeps the job's own euid.
        var job = await Api.RunAsync(Busybox(
            "grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; echo \"{\\\"perf\\\": $(/opt/suid/busybox id -u)}\" > /data/perf.json",
            "RUN mkdir -p /opt/suid && cp /bin/busybox /opt/suid/busybox && chmod 4755 /opt/suid/busybox\n"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        AssertJobUid(job.Performance);
        var logs = await Api.LogsAsync(job.Id);
        Assert.Contains("NoNewPrivs:\t1", logs, StringComparison.Ordinal);
        Assert.Contains("CapEff:\t0000000000000000", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MountsKernelKnobsAndTheEngineSocket_AreOutOfReach()
    {
        // perf counts the attempts that succeeded: every one must fail.
        var job = await Api.RunAsync(Busybox(
            "n=0; " +
            "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m 2>/dev/null && n=$((n+1)); " +
            "echo 1 > /proc/sys/kernel/panic 2>/dev/null && n=$((n+1)); " +
            "echo 1 > /sys/kernel/mm/ksm/run 2>/dev/null && n=$((n+1)); " +
            "test -e /var/run/docker.sock && n=$((n+1)); test -e /run/docker.sock && n=$((n+1)); " +
            "ls /proc/1/root/ >/dev/null 2>&1 && [ \"$(id -u)\" = 0 ] && n=$((n+1)); " +
            "chown 0:0 /data 2>/dev/null && n=$((n+1)); " +
            "echo \"{\\\"perf\\\": $n}\" > /data/perf.json"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(0, job.Performance);
    }

    [Fact]
    public async Task TmpIsACappedTmpfs_AndIpcIsPrivate()
    {
        // 100 MiB into the 64 MiB /tmp must fail; perf = 1 when it did, plus 10 when /dev/shm does not exist (ipc none).
        var job = await Api.RunAsync(Busybox(
            "n=0; dd if=/dev/zero of=/tmp/big bs=1M count=100 2>/dev/null || n=1; test -d /dev/shm || n=$((n+10)); " +
            "df -m /tmp | tail -1; echo \"{\\\"perf\\\": $n}\" > /data/perf.json"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(11, job.Performance);
        Assert.Contains("64", await Api.LogsAsync(job.Id), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ln -s /var/lib/berth/berth.db /data/perf.json", "symbolic link")]
    [InlineData("dd if=/dev/zero of=/data/perf.json bs=1M count=100 2>/dev/null", "limit is 65536 bytes")]
    [InlineData("(printf '{\"perf\": 1, \"x\": '; for i in $(seq 1 200); do printf '['; done; for i in $(seq 1 200); do printf ']'; done; printf '}') > /data/perf.json", "not valid JSON")]
    [InlineData("echo '{\"perf\": 1, \"perf\": 2}' > /data/perf.json", "not valid JSON")]
    [InlineData("echo '{\"perf\": Infinity}' > /data/perf.json", "not valid JSON")]
    [InlineData("mkdir /data/perf.json", "directory")]
    public async Task HostilePerfFiles_ArePerfInvalid(string script, string reason)
    {
        var job = await Api.RunAsync(Busybox(script));

        Assert.Equal(FailureReasons.PerfInvalid, job.Failure?.Reason);
        Assert.Contains(reason, job.Failure?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_FillingMemory_FailsCleanly()
    {
        var job = await Api.RunAsync("FROM busybox:latest\nRUN dd if=/dev/zero of=/dev/null bs=2600M count=1\nCMD [\"true\"]\n");

        Assert.Equal(FailureReasons.BuildFailed, job.Failure?.Reason);
        Assert.Contains("RUN dd", job.Failure?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_ForkBomb_IsHeldByTheBuildPidsLimit()
    {
        // 600 background sleeps against Build:PidsLimit (512 by default): forks fail inside the build.
        var job = await Api.RunAsync("FROM busybox:latest\nRUN grep pids /proc/self/cgroup; for i in $(seq 1 600); do sleep 3 & done; wait\nCMD [\"true\"]\n");

        Assert.Equal(FailureReasons.BuildFailed, job.Failure?.Reason);
        var logs = await Api.LogsAsync(job.Id);
        Assert.Contains("-build/" + job.Id, logs, StringComparison.Ordinal); // the RUN step ran in the job's build cgroup
        Assert.Contains("can't fork", logs, StringComparison.Ordinal);
        Assert.Empty(await fixture.Docker.JobContainersAsync(job.Id));
    }

    [Fact]
    public async Task Build_RunningTooLong_IsStoppedAsTimeout()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("buildtimeout"), new Dictionary<string, string> { ["Build:TimeoutSeconds"] = "3" });

        var job = await new BerthApi(server.Client).RunAsync("FROM busybox:latest\nRUN sleep 60\nCMD [\"true\"]\n");

        Assert.Equal(FailureReasons.Timeout, job.Failure?.Reason);
        Assert.Contains("Build:TimeoutSeconds", job.Failure?.Message, StringComparison.Ordinal);
    }
}
