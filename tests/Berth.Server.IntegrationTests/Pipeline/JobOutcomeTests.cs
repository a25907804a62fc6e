using Berth.Server.Dockerfiles;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Pipeline;

/// <summary>Every way a job ends, on a real engine.</summary>
[Collection(BerthCollection.Name)]
public sealed class JobOutcomeTests(BerthFixture fixture)
{
    private BerthApi Api => fixture.Api;

    [Fact]
    public async Task Submit_TheReadmeDockerfile_SucceedsWith099()
    {
        const string dockerfile = "FROM busybox:latest\nCMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 0.99}' > /data/perf.json\"]\n";
        var accepted = await Api.SubmitTextAsync(dockerfile);
        Assert.Equal(JobStatus.Queued, accepted.Status);

        var job = await Api.WaitTerminalAsync(accepted.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(0.99, job.Performance);
        Assert.Null(job.Failure);
        Assert.Equal(0, job.ExitCode);
        Assert.StartsWith("sha256:", job.ImageId, StringComparison.Ordinal);
        Assert.Equal(["lint", "build", "scan", "run", "collect"], job.Stages.Select(s => s.Name));
        Assert.All(job.Stages, s => Assert.Equal(StageStatus.Succeeded, s.Status));
        Assert.Contains(job.Lint, f => f.Rule == "base-image-unpinned" && f.Severity == LintSeverity.Warning);
        Assert.NotNull(job.StartedAt);
        Assert.True(job.FinishedAt >= job.StartedAt);
        Assert.Empty(await fixture.Docker.JobContainersAsync(job.Id));
        Assert.False(await fixture.Docker.JobImageExistsAsync(job.Id));
    }

    [Fact]
    public async Task Submit_WithContextArchive_RunsTheCopiedScript()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("FROM busybox:latest\nCOPY score.sh /app/score.sh\nCMD [\"sh\", \"/app/score.sh\"]\n"), "dockerfile" },
            { new StreamContent(TarGz(("score.sh", "echo '{\"perf\": 0.5}' > /data/perf.json\n"), ("Dockerfile", "FROM nothing:1\n"))), "context", "context.tar.gz" },
            { new StringContent("with-context"), "name" },
            { new StringContent("30"), "timeoutSeconds" },
        };
        using var response = await Api.Client.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), form);
        var accepted = await AcceptedAsync(response);
        Assert.Equal("with-context", accepted.Name);
        Assert.Equal(30, accepted.Limits.TimeoutSeconds);

        var job = await Api.WaitTerminalAsync(accepted.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(0.5, job.Performance);
    }

    [Fact]
    public async Task Run_WhateverTheDockerfileUser_RunsAsNonRoot()
    {
        var job = await Api.RunAsync(Busybox("echo \"{\\\"perf\\\": $(id -u)}\" > /data/perf.json", "USER root\n"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        AssertJobUid(job.Performance);
    }

    [Fact]
    public async Task Run_Network_OnlyLoopbackInside()
    {
        var job = await Api.RunAsync(Busybox("ls /sys/class/net; echo \"{\\\"perf\\\": $(ls /sys/class/net | wc -l)}\" > /data/perf.json"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(1, job.Performance);
        var logs = await Api.LogsAsync(job.Id);
        Assert.Contains("==> run log <==\nlo\n", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WritesOutsideDataAndTmp_Fail()
    {
        // perf = 10 if /tmp is writable, plus 1 for every other place that took a write (expected: none).
        var job = await Api.RunAsync(Busybox(
            "n=0; for d in / /etc /bin /root /home /dev/shm; do touch $d/berth-probe 2>/dev/null && n=$((n+1)); done; " +
            "touch /tmp/probe && n=$((n+10)); echo \"{\\\"perf\\\": $n}\" > /data/perf.json"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(10, job.Performance);
    }

    [Fact]
    public async Task Run_NoPerfFile_FailsPerfMissing()
    {
        var job = await Api.RunAsync(Busybox("echo done"));

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.PerfMissing, job.Failure?.Reason);
        Assert.Contains("/data/perf.json", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Equal(StageStatus.Failed, job.Stages.Single(s => s.Name == "collect").Status);
    }

    [Theory]
    [InlineData("echo not-json > /data/perf.json", "not valid JSON")]
    [InlineData("echo '{\"perf\": \"high\"}' > /data/perf.json", "must be a number")]
    [InlineData("echo '{\"perf\": NaN}' > /data/perf.json", "not valid JSON")]
    [InlineData("ln -s /etc/shadow /data/perf.json", "symbolic link")]
    [InlineData("mkfifo /data/perf.json", "FIFO")]
    public async Task Run_BadPerfFile_FailsPerfInvalidWithReason(string script, string reason)
    {
        var job = await Api.RunAsync(Busybox(script));

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.PerfInvalid, job.Failure?.Reason);
        Assert.Contains(reason, job.Failure?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NonzeroExit_FailsEvenWithPerfFile()
    {
        var job = await Api.RunAsync(Busybox("echo '{\"perf\": 1}' > /data/perf.json; echo boom >&2; exit 3"));

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.NonzeroExit, job.Failure?.Reason);
        Assert.Contains("code 3", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Equal(3, job.ExitCode);
        Assert.Null(job.Performance);
        Assert.Contains("boom", await Api.LogsAsync(job.Id), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_PastTheTimeout_IsKilledAndLeavesNoContainer()
    {
        var job = await Api.RunAsync(Busybox("sleep 60"), new { timeoutSeconds = 2 });

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.Timeout, job.Failure?.Reason);
        Assert.Contains("2 s", job.Failure?.Message, StringComparison.Ordinal);
        Assert.True(job.FinishedAt - job.Stages.Single(s => s.Name == "run").StartedAt < TimeSpan.FromSeconds(20));
        Assert.Empty(await fixture.Docker.JobContainersAsync(job.Id));
    }

    [Fact]
    public async Task Run_OverTheMemoryLimit_FailsOutOfMemory()
    {
        // dd allocates a 200 MiB buffer; the shell survives and exits 0, so only OOMKilled tells.
        var job = await Api.RunAsync(Busybox("dd if=/dev/zero of=/dev/null bs=200M count=1; echo '{\"perf\": 1}' > /data/perf.json"), new { memoryMb = 32 });

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.OutOfMemory, job.Failure?.Reason);
        Assert.Contains("32 MiB", job.Failure?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_FailingStep_FailsBuildFailedNamingTheStep()
    {
        var job = await Api.RunAsync("FROM busybox:latest\nRUN echo building && exit 7\nCMD [\"true\"]\n");

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.BuildFailed, job.Failure?.Reason);
        Assert.Contains("RUN echo building && exit 7", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Contains("non-zero code: 7", job.Failure?.Message, StringComparison.Ordinal);
        var logs = await Api.LogsAsync(job.Id);
        Assert.Contains("Step 2/", logs, StringComparison.Ordinal);
        Assert.Contains("building", logs, StringComparison.Ordinal);
        Assert.Equal(StageStatus.Skipped, job.Stages.Single(s => s.Name == "run").Status);
    }

    [Fact]
    public async Task Build_AbsentBaseImage_FailsBaseImageMissingWithoutPulling()
    {
        var job = await Api.RunAsync("FROM absent/does-not-exist:1.0\nCMD [\"true\"]\n");

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.BaseImageMissing, job.Failure?.Reason);
        Assert.Contains("absent/does-not-exist:1.0", job.Failure?.Message, StringComparison.Ordinal);
        var logs = await Api.LogsAsync(job.Id);
        Assert.DoesNotContain("Pulling from", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("Step 1/", logs, StringComparison.Ordinal); // the engine never started a build
    }

    [Fact]
    public async Task Lint_ForbiddenInstruction_FailsLintRejectedNamingTheRule()
    {
        var job = await Api.RunAsync("FROM busybox:latest\nRUN --network=host echo hi\nCMD [\"true\"]\n");

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.LintRejected, job.Failure?.Reason);
        Assert.Contains("run-network-host", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Contains(job.Lint, f => f.Rule == "run-network-host" && f.Line == 2 && f.Severity == LintSeverity.Error);
        Assert.Null(job.ImageId);
    }

    [Fact]
    public async Task Run_FloodingOutput_IsCappedWithAMarker()
    {
        var job = await Api.RunAsync(Busybox("yes berth-flood | head -c 1000000; echo '{\"perf\": 1}' > /data/perf.json"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        var logs = await Api.LogsAsync(job.Id);
        Assert.Contains("[berth] log truncated", logs, StringComparison.Ordinal);
        Assert.InRange(logs.Length, 64 * 1024, 80 * 1024);
    }

    [Fact]
    public async Task Run_FillingData_FailsDataQuotaAndTheHostKeepsItsSpace()
    {
        var job = await Api.RunAsync(Busybox("dd if=/dev/zero of=/data/fill bs=1M count=200 && echo '{\"perf\": 1}' > /data/perf.json"), new { dataMb = 16 });

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.DataQuotaExceeded, job.Failure?.Reason);
        Assert.Contains("16 MiB quota", job.Failure?.Message, StringComparison.Ordinal);
        var jobDir = Path.Combine(fixture.Server.DataRoot, "jobs", job.Id);
        Assert.True(await EventuallyAsync(() => !File.ReadAllText("/proc/self/mountinfo").Contains(jobDir, StringComparison.Ordinal)), "/data stayed mounted");
        Assert.True(await EventuallyAsync(() => !File.Exists(Path.Combine(jobDir, "data.img"))), "/data's image file stayed");
        Assert.Contains("No space left on device", await Api.LogsAsync(job.Id), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_DataIsAFreshFilesystemOwnedByTheRunUser()
    {
        var job = await Api.RunAsync(Busybox("test -z \"$(ls -A /data)\" && stat -c '%u %a' /data && echo \"{\\\"perf\\\": $(stat -c %u /data)}\" > /data/perf.json"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        AssertJobUid(job.Performance);
        Assert.Contains($"{job.Performance} 700", await Api.LogsAsync(job.Id), StringComparison.Ordinal);
    }
}
