using System.Text.Json;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;

namespace Berth.Server.IntegrationTests.Sandbox;

/// <summary>The job seccomp profile seen from inside a job: kernel surface refused, ordinary programs unaffected.</summary>
[Collection(BerthCollection.Name)]
public sealed class SeccompTests(BerthFixture fixture)
{
    [Fact]
    public async Task Run_IoUringPtraceNamespacesVsockAnd32BitSyscalls_AreRefused_WhileForkThreadsAndSocketsWork()
    {
        var (job, logs) = await SeccompProbe.RunAsync(fixture.Api);

        Assert.True(job.Status == JobStatus.Succeeded && job.Performance == 1, $"{job.Status} {job.Failure?.Reason} perf={job.Performance}\n{logs}");
        Assert.DoesNotContain("FAIL ", logs, StringComparison.Ordinal);
        foreach (var check in new[]
        {
            "io_uring_setup refused", "io_uring_enter refused", "io_uring_register refused", "ptrace attach to pid 1 refused",
            "ptrace traceme refused", "unshare user namespace refused", "clone into a user namespace refused", "vsock socket refused",
            "i386 syscall refused", "fork works", "threads work", "clone3 answers ENOSYS", "statx works", "netlink socket works",
        })
        {
            Assert.Contains("ok " + check, logs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Run_DynamicGlibcPrograms_ForkThreadAndResolveAsBefore()
    {
        // dash, coreutils (sort --parallel runs threads: clone3 answers ENOSYS, glibc falls back to clone), perl's fork,
        // and NSS: perf counts the ones that worked.
        const string script =
            "n=0; ls / >/dev/null && n=$((n+1)); " +
            "seq 1 200000 | sort --parallel=4 -S 8M -T /tmp -n | tail -n 1 | grep -qx 200000 && n=$((n+1)); " +
            "perl -e 'my $p = fork; exit 3 if $p == 0; waitpid($p, 0); exit(($? >> 8) == 3 ? 0 : 1)' && n=$((n+1)); " +
            "getent passwd root && n=$((n+1)); " + // NSS (a job container has no /etc/hosts entries: its network is disabled)
            "head -c 4096 /dev/urandom | sha256sum && n=$((n+1)); " +
            "echo \"{\\\"perf\\\": $n}\" > /data/perf.json";
        var job = await fixture.Api.RunAsync($"FROM debian:bookworm-slim\nCMD {JsonSerializer.Serialize(new[] { "sh", "-c", script })}\n");

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.True(job.Performance == 5, $"perf={job.Performance}\n{await fixture.Api.LogsAsync(job.Id)}");
    }
}
