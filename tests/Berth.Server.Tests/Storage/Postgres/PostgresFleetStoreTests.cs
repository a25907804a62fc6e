using System.Diagnostics;
using System.Text.Json;
using Berth.Scanner.Reports;
using Berth.Server.Dockerfiles;
using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Berth.Server.Metrics;
using Berth.Server.Storage.Postgres;

namespace Berth.Server.Tests.Storage.Postgres;

/// <summary>The lease protocol on a real PostgreSQL: claims, tokens, stale writes, expiry and its grace, logs, wake-ups, rate counts.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresFleetStoreTests(PostgresFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private TestDatabase _db = null!;
    private PostgresJobStore _jobs = null!;
    private PostgresJobFiles _files = null!;
    private PostgresFleetStore _fleet = null!;
    private JobMetrics _metrics = null!;
    private int _made;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync(fixture.Cluster);
        var database = await _db.OpenInitializedAsync();
        _jobs = new PostgresJobStore(database);
        _files = new PostgresJobFiles(database);
        _metrics = new JobMetrics();
        _fleet = new PostgresFleetStore(database, _metrics);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    // ---- claim ----

    [Fact]
    public async Task ClaimAsync_NothingQueued_ReturnsNull()
    {
        var running = await EnqueueAsync();
        await _jobs.SaveAsync(running with { Status = JobStatus.Running }, default);

        Assert.Null(await _fleet.ClaimAsync("a1", JobStatus.Linting, Lease, default));
    }

    [Fact]
    public async Task ClaimAsync_TwoQueued_TakesTheOldestForTheAgentWithALeaseByTheDatabaseClock()
    {
        var oldest = await EnqueueAsync();
        await EnqueueAsync();
        var before = await NowAsync();

        var lease = await _fleet.ClaimAsync("node-1", JobStatus.Linting, Lease, default);

        var after = await NowAsync();
        Assert.NotNull(lease);
        Assert.Equal(oldest.Id, lease.Job.Id);
        Assert.Equal(JobStatus.Linting, lease.Job.Status);
        Assert.Equal("node-1", lease.Job.Agent);
        Assert.Equal(1, lease.Job.Attempts);
        Assert.InRange(lease.Job.StartedAt!.Value, before, after);
        Assert.InRange(lease.ExpiresAt, before + Lease, after + Lease);
        Assert.Equal(Json(lease.Job), Json(await _jobs.GetAsync(oldest.Id, default)));
        Assert.True(await _fleet.HoldsAsync(oldest.Id, lease.Token, default));
        Assert.Equal(1, await _jobs.CountQueuedAsync(default));
    }

    [Fact]
    public async Task ClaimAsync_TwentyClaimersOnOneJob_ExactlyOneGetsALease()
    {
        var servers = new[] { _fleet, new PostgresFleetStore(await _db.OpenInitializedAsync(), new JobMetrics()) };
        for (var round = 0; round < 5; round++)
        {
            var job = await EnqueueAsync();
            using var start = new ManualResetEventSlim();
            var claims = Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            {
                start.Wait();
                return servers[i % 2].ClaimAsync($"agent-{i}", JobStatus.Linting, Lease, default);
            })).ToList();
            start.Set();

            var leases = (await Task.WhenAll(claims)).OfType<Lease>().ToList();

            var lease = Assert.Single(leases);
            Assert.Equal(job.Id, lease.Job.Id);
            Assert.Equal(1, (await _jobs.GetAsync(job.Id, default))!.Attempts);
        }
    }

    [Fact]
    public async Task ClaimAsync_ClaimsAndReclaimsAfterReleaseAndExpiry_TokensStrictlyIncrease()
    {
        var job = await EnqueueAsync();
        var tokens = new List<long>();

        var first = await ClaimAsync();
        tokens.Add(first.Token);
        Assert.True(await _fleet.ReleaseAsync(job.Id, first.Token, default));
        var second = await ClaimAsync();
        tokens.Add(second.Token);
        await ExpireNowAsync(job.Id);
        Assert.Single(await _fleet.ExpireLeasesAsync(5, TimeSpan.Zero, default));
        var third = await ClaimAsync();
        tokens.Add(third.Token);
        await EnqueueAsync();
        tokens.Add((await ClaimAsync()).Token);

        Assert.Equal(job.Id, third.Job.Id);
        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(tokens.Count, tokens.Distinct().Count());
    }

    /// <summary>An agent that saw its own tokens cannot compute the next one: below the sequence, 31 bits are random.</summary>
    [Fact]
    public async Task ClaimAsync_TwentyClaims_TokensIncreaseButTheNextIsNotTheLastPlusOne()
    {
        var tokens = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            await EnqueueAsync();
            tokens.Add((await ClaimAsync()).Token);
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.All(tokens.Zip(tokens.Skip(1)), pair => Assert.True(pair.Second - pair.First > 1));
        Assert.True(tokens.Select(t => t & 0x7fffffff).Distinct().Count() > 15, "the low 31 bits should look random");
    }

    [Fact]
    public async Task ClaimAsync_FirstStatusNotActive_Throws()
    {
        await EnqueueAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => _fleet.ClaimAsync("a1", JobStatus.Queued, Lease, default));
        await Assert.ThrowsAsync<ArgumentException>(() => _fleet.ClaimAsync("a1", JobStatus.Succeeded, Lease, default));
        Assert.Equal(1, await _jobs.CountQueuedAsync(default));
    }

    // ---- stale tokens ----

    [Fact]
    public async Task EveryWrite_WithTheTokenOfAnEarlierClaim_IsRefusedAndChangesNothing()
    {
        var job = await EnqueueAsync();
        var stale = await ClaimAsync();
        Assert.True(await _fleet.ReleaseAsync(job.Id, stale.Token, default));
        var current = await ClaimAsync();
        var before = Json(await _jobs.GetAsync(job.Id, default));

        Assert.Equal(LeaseRenewal.Stale, await _fleet.RenewAsync(job.Id, stale.Token, null, Lease, default));
        Assert.Equal(LeaseRenewal.Stale, await _fleet.RenewAsync(job.Id, stale.Token, current.Job with { Status = JobStatus.Running }, Lease, default));
        Assert.False(await _fleet.HoldsAsync(job.Id, stale.Token, default));
        Assert.False(await _fleet.CompleteAsync(job.Id, stale.Token, Succeeded(current.Job), default));
        Assert.Equal(LogAppendStatus.Stale, (await _fleet.AppendLogAsync(job.Id, stale.Token, JobLog.Build, 0, "x"u8.ToArray(), 100, default)).Status);
        Assert.False(await _fleet.PutFileAsync(job.Id, stale.Token, JobFile.Sbom, "{}"u8.ToArray(), default));
        Assert.False(await _fleet.ReleaseAsync(job.Id, stale.Token, default));

        Assert.Equal(before, Json(await _jobs.GetAsync(job.Id, default)));
        Assert.Null(await _files.OpenReadAsync(job.Id, JobFile.BuildLog, default));
        Assert.Null(await _files.OpenReadAsync(job.Id, JobFile.Sbom, default));
        Assert.True(await _fleet.HoldsAsync(job.Id, current.Token, default));
        Assert.True((await _fleet.RenewAsync(job.Id, current.Token, null, Lease, default)).Held);
    }

    [Fact]
    public async Task EveryWrite_AfterTheLeaseExpiredAndTheJobWasQueuedAgain_IsRefused()
    {
        var job = await EnqueueAsync();
        var lost = await ClaimAsync();
        await ExpireNowAsync(job.Id);
        Assert.False(await _fleet.HoldsAsync(job.Id, lost.Token, default)); // run out, though not yet ended
        Assert.Equal([new ExpiredLease(job.Id, "a1", Requeued: true)], await _fleet.ExpireLeasesAsync(5, TimeSpan.Zero, default));

        Assert.False((await _fleet.RenewAsync(job.Id, lost.Token, null, Lease, default)).Held);
        Assert.False(await _fleet.CompleteAsync(job.Id, lost.Token, Succeeded(lost.Job), default));
        Assert.Equal(LogAppendStatus.Stale, (await _fleet.AppendLogAsync(job.Id, lost.Token, JobLog.Run, 0, "x"u8.ToArray(), 100, default)).Status);
        Assert.False(await _fleet.PutFileAsync(job.Id, lost.Token, JobFile.ScanReport, "{}"u8.ToArray(), default));
        Assert.False(await _fleet.ReleaseAsync(job.Id, lost.Token, default));
        Assert.Equal(JobStatus.Queued, (await _jobs.GetAsync(job.Id, default))!.Status);
    }

    // ---- renew ----

    [Fact]
    public async Task RenewAsync_WithProgress_SavesOnlyTheProgressAndExtendsTheLease()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync(TimeSpan.FromSeconds(5));
        var progress = lease.Job with
        {
            Status = JobStatus.Scanning,
            Stages = [new("lint", StageStatus.Succeeded, lease.Job.StartedAt, lease.Job.StartedAt), new("build", StageStatus.Running, lease.Job.StartedAt, null)],
            ImageId = "sha256:" + new string('c', 64),
            Lint = [new LintFinding("DL3007", 1, LintSeverity.Warning, "pin it")],
            Scan = new ScanSummary(ScanStatus.Passed, 3, new SeverityCounts(0, 0, 1, 0, 0), 1.5, []),
            CacheHit = true,
            // Never the agent's to change:
            Owner = "mallory", Name = "renamed", Limits = new JobLimits(1, 16, 8), CreatedAt = lease.Job.CreatedAt.AddDays(-1),
            Cache = !lease.Job.Cache, Agent = "someone-else", Attempts = 9, CorrelationId = "forged",
            StartedAt = lease.Job.StartedAt!.Value.AddDays(-1), ExitCode = 5, Performance = 1, Failure = new JobFailure("x", "y"),
        };

        var renewal = await _fleet.RenewAsync(job.Id, lease.Token, progress, Lease, default);

        Assert.True(renewal.Held);
        Assert.False(renewal.CancelRequested);
        Assert.True(renewal.ExpiresAt > lease.ExpiresAt + TimeSpan.FromSeconds(20));
        var expected = lease.Job with
        {
            Status = progress.Status, Stages = progress.Stages, ImageId = progress.ImageId, Lint = progress.Lint, Scan = progress.Scan, CacheHit = true,
        };
        Assert.Equal(Json(expected), Json(await _jobs.GetAsync(job.Id, default)));
    }

    [Theory]
    [InlineData(JobStatus.Queued)]
    [InlineData(JobStatus.Succeeded)]
    [InlineData(JobStatus.Failed)]
    [InlineData(JobStatus.Canceled)]
    public async Task RenewAsync_ProgressNotActive_ThrowsAndKeepsTheJob(JobStatus status)
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => _fleet.RenewAsync(job.Id, lease.Token, lease.Job with { Status = status }, Lease, default));

        Assert.Equal(JobStatus.Linting, (await _jobs.GetAsync(job.Id, default))!.Status);
        Assert.True(await _fleet.HoldsAsync(job.Id, lease.Token, default));
    }

    [Fact]
    public async Task RenewAsync_AfterRequestCancel_TellsTheAgentToCancel()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();
        Assert.False((await _fleet.RenewAsync(job.Id, lease.Token, null, Lease, default)).CancelRequested);

        Assert.True(await _fleet.RequestCancelAsync(job.Id, default));

        var renewal = await _fleet.RenewAsync(job.Id, lease.Token, null, Lease, default);
        Assert.True(renewal.Held);
        Assert.True(renewal.CancelRequested);
    }

    [Fact]
    public async Task RequestCancelAsync_JobNotActive_ReturnsFalse()
    {
        var queued = await EnqueueAsync();
        var done = await EnqueueAsync();
        await _jobs.SaveAsync(done with { Status = JobStatus.Succeeded }, default);

        Assert.False(await _fleet.RequestCancelAsync(queued.Id, default));
        Assert.False(await _fleet.RequestCancelAsync(done.Id, default));
        Assert.False(await _fleet.RequestCancelAsync("unknown", default));
    }

    [Fact]
    public async Task ClaimAsync_AJobWhoseCancelWasRequestedThenQueuedAgain_StartsWithTheFlagCleared()
    {
        var job = await EnqueueAsync();
        var first = await ClaimAsync();
        Assert.True(await _fleet.RequestCancelAsync(job.Id, default));
        await _db.ExecuteAsync("UPDATE jobs SET status = 'queued', cancel_requested = true WHERE id = @id", ("id", job.Id));

        var second = await ClaimAsync();

        Assert.True(second.Token > first.Token);
        Assert.False((await _fleet.RenewAsync(job.Id, second.Token, null, Lease, default)).CancelRequested);
    }

    // ---- complete ----

    [Fact]
    public async Task CompleteAsync_HeldLease_WritesTheResultOnceAndARetryWithTheSameTokenIsTrue()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();
        var result = Succeeded(lease.Job) with { Owner = "mallory", Name = "renamed", Agent = "other", Attempts = 7 };

        Assert.True(await _fleet.CompleteAsync(job.Id, lease.Token, result, default));
        var stored = await _jobs.GetAsync(job.Id, default);
        Assert.True(await _fleet.CompleteAsync(job.Id, lease.Token, result with { ExitCode = 99, Status = JobStatus.Failed }, default));

        Assert.Equal(Json(lease.Job with
        {
            Status = JobStatus.Succeeded, FinishedAt = result.FinishedAt, Performance = result.Performance, ExitCode = 0, Stages = result.Stages,
        }), Json(stored));
        Assert.Equal(Json(stored), Json(await _jobs.GetAsync(job.Id, default)));
        Assert.False(await _fleet.HoldsAsync(job.Id, lease.Token, default));
        Assert.False((await _fleet.RenewAsync(job.Id, lease.Token, null, Lease, default)).Held);
        Assert.Equal(LogAppendStatus.Stale, (await _fleet.AppendLogAsync(job.Id, lease.Token, JobLog.Run, 0, "late"u8.ToArray(), 100, default)).Status);
        Assert.Empty(await _fleet.ExpireLeasesAsync(1, TimeSpan.Zero, default));
    }

    [Fact]
    public async Task CompleteAsync_ResultWithoutAFinishTime_IsFinishedByTheDatabaseClock()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();
        var before = await NowAsync();

        Assert.True(await _fleet.CompleteAsync(job.Id, lease.Token, Succeeded(lease.Job) with { FinishedAt = null }, default));

        Assert.InRange((await _jobs.GetAsync(job.Id, default))!.FinishedAt!.Value, before, await NowAsync());
    }

    [Theory]
    [InlineData(JobStatus.Queued)]
    [InlineData(JobStatus.Linting)]
    [InlineData(JobStatus.Running)]
    public async Task CompleteAsync_ResultNotTerminal_Throws(JobStatus status)
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => _fleet.CompleteAsync(job.Id, lease.Token, lease.Job with { Status = status }, default));

        Assert.True(await _fleet.HoldsAsync(job.Id, lease.Token, default));
    }

    [Fact]
    public async Task CompleteAsync_TheTokenOfAnotherJob_IsRefused()
    {
        var a = await EnqueueAsync();
        var b = await EnqueueAsync();
        var leaseA = await ClaimAsync();
        await ClaimAsync();

        Assert.False(await _fleet.CompleteAsync(b.Id, leaseA.Token, Succeeded(leaseA.Job with { Id = b.Id }), default));
        Assert.Equal(JobStatus.Linting, (await _jobs.GetAsync(b.Id, default))!.Status);
        Assert.Equal(a.Id, leaseA.Job.Id);
    }

    // ---- release ----

    [Fact]
    public async Task ReleaseAsync_HeldLease_QueuesTheJobAsBeforeItsClaimWithoutCountingTheAttempt()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();
        await _fleet.RenewAsync(job.Id, lease.Token, lease.Job with { Status = JobStatus.Building, ImageId = "sha256:x", Stages = [new("lint", StageStatus.Succeeded, lease.Job.StartedAt, lease.Job.StartedAt)] }, Lease, default);
        await _fleet.AppendLogAsync(job.Id, lease.Token, JobLog.Build, 0, "step 1"u8.ToArray(), 100, default);
        await _fleet.PutFileAsync(job.Id, lease.Token, JobFile.ScanReport, "{}"u8.ToArray(), default);
        await _files.WriteAsync(job.Id, JobFile.Context, new MemoryStream([1, 2, 3]), default);

        Assert.True(await _fleet.ReleaseAsync(job.Id, lease.Token, default));

        var stored = await _jobs.GetAsync(job.Id, default);
        Assert.Equal(Json(job with { Agent = "a1", Stages = [new("lint", StageStatus.Pending, null, null)] }), Json(stored));
        Assert.Null(await _files.OpenReadAsync(job.Id, JobFile.BuildLog, default));
        Assert.Null(await _files.OpenReadAsync(job.Id, JobFile.ScanReport, default));
        Assert.NotNull(await _files.OpenReadAsync(job.Id, JobFile.Context, default));
        Assert.Equal(1, (await ClaimAsync()).Job.Attempts);
    }

    [Fact]
    public async Task ReleaseAsync_JobWhoseCancelWasRequested_EndsItAsCanceled()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();
        await _fleet.RenewAsync(job.Id, lease.Token, lease.Job with { Stages = Stages(StageStatus.Running, StageStatus.Pending, lease.Job.StartedAt) }, Lease, default);
        await _fleet.RequestCancelAsync(job.Id, default);

        Assert.True(await _fleet.ReleaseAsync(job.Id, lease.Token, default));

        var stored = (await _jobs.GetAsync(job.Id, default))!;
        Assert.Equal(JobStatus.Canceled, stored.Status);
        Assert.NotNull(stored.FinishedAt);
        Assert.Equal([StageStatus.Canceled, StageStatus.Skipped], stored.Stages.Select(s => s.Status));
        Assert.Equal(0, await _jobs.CountQueuedAsync(default));
    }

    // ---- outcomes (each job this store ends is told once) ----

    [Fact]
    public async Task CompleteAsync_RetriedWithTheSameToken_TellsTheOutcomeOnce()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();

        await _fleet.CompleteAsync(job.Id, lease.Token, Succeeded(lease.Job), default);
        await _fleet.CompleteAsync(job.Id, lease.Token, Succeeded(lease.Job), default);

        var text = await Metrics.PrometheusText.ExportAsync(_metrics);
        Assert.Equal(1, Metrics.PrometheusText.Value(text, "berth_jobs_total{status=\"succeeded\",reason=\"none\"}"));
        Assert.Equal(1, Metrics.PrometheusText.Value(text, $"berth_stage_duration_seconds_count{{stage=\"{lease.Job.Stages[0].Name}\",status=\"succeeded\"}}"));
    }

    [Fact]
    public async Task ReleaseAsync_PlainThenAfterACancelRequest_TellsOnlyTheCanceledEnd()
    {
        var job = await EnqueueAsync();
        await _fleet.ReleaseAsync(job.Id, (await ClaimAsync()).Token, default); // queued again: not an end
        var lease = await ClaimAsync();
        await _fleet.RequestCancelAsync(job.Id, default);

        await _fleet.ReleaseAsync(job.Id, lease.Token, default);

        var text = await Metrics.PrometheusText.ExportAsync(_metrics);
        Assert.Equal(1, Metrics.PrometheusText.Value(text, "berth_jobs_total{status=\"canceled\",reason=\"none\"}"));
        Assert.DoesNotContain("status=\"succeeded\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExpireLeasesAsync_QueuedAgainThenLost_TellsOnlyWorkerLost()
    {
        var job = await EnqueueAsync();
        await ClaimAsync();
        await ExpireNowAsync(job.Id);
        await _fleet.ExpireLeasesAsync(2, TimeSpan.Zero, default); // attempt 1 of 2: queued again
        await ClaimAsync();
        await ExpireNowAsync(job.Id);

        await _fleet.ExpireLeasesAsync(2, TimeSpan.Zero, default);

        var text = await Metrics.PrometheusText.ExportAsync(_metrics);
        Assert.Equal(1, Metrics.PrometheusText.Value(text, "berth_jobs_total{status=\"failed\",reason=\"worker_lost\"}"));
        Assert.Single(text.Split('\n'), l => l.StartsWith("berth_jobs_total{", StringComparison.Ordinal));
    }

    // ---- expiry ----

    [Fact]
    public async Task ExpireLeasesAsync_ALeaseOfOneSecondNotRenewed_QueuesTheJobAgainThenFailsItAsWorkerLostAtMaxAttempts()
    {
        var job = await EnqueueAsync();
        var first = await ClaimAsync(TimeSpan.FromSeconds(1), "node-7");
        await _fleet.RenewAsync(job.Id, first.Token, first.Job with { Status = JobStatus.Building, Stages = Stages(StageStatus.Running, StageStatus.Pending, first.Job.StartedAt) }, TimeSpan.FromSeconds(1), default);
        await _fleet.AppendLogAsync(job.Id, first.Token, JobLog.Build, 0, "attempt 1"u8.ToArray(), 100, default);
        Assert.Empty(await _fleet.ExpireLeasesAsync(2, TimeSpan.Zero, default)); // still held

        await Task.Delay(TimeSpan.FromMilliseconds(1300));
        var requeued = await _fleet.ExpireLeasesAsync(2, TimeSpan.Zero, default);

        Assert.Equal([new ExpiredLease(job.Id, "node-7", Requeued: true)], requeued);
        var queued = (await _jobs.GetAsync(job.Id, default))!;
        Assert.Equal(JobStatus.Queued, queued.Status);
        Assert.Equal(1, queued.Attempts);
        Assert.All(queued.Stages, s => Assert.Equal(new StageState(s.Name, StageStatus.Pending, null, null), s));
        Assert.Null(await _files.OpenReadAsync(job.Id, JobFile.BuildLog, default)); // the next attempt writes its own log from 0

        var second = await ClaimAsync(TimeSpan.FromSeconds(1), "node-8");
        Assert.Equal(2, second.Job.Attempts);
        await _fleet.RenewAsync(job.Id, second.Token, second.Job with { Status = JobStatus.Running, Stages = Stages(StageStatus.Running, StageStatus.Pending, second.Job.StartedAt) }, TimeSpan.FromSeconds(1), default);
        await _fleet.AppendLogAsync(job.Id, second.Token, JobLog.Build, 0, "attempt 2"u8.ToArray(), 100, default);
        await Task.Delay(TimeSpan.FromMilliseconds(1300));
        var before = await NowAsync();

        var failed = await _fleet.ExpireLeasesAsync(2, TimeSpan.Zero, default);

        Assert.Equal([new ExpiredLease(job.Id, "node-8", Requeued: false)], failed);
        var lost = (await _jobs.GetAsync(job.Id, default))!;
        Assert.Equal(JobStatus.Failed, lost.Status);
        Assert.Equal(FailureReasons.WorkerLost, lost.Failure?.Reason);
        Assert.Contains("node-8", lost.Failure!.Message, StringComparison.Ordinal);
        Assert.Contains("stopped answering", lost.Failure.Message, StringComparison.Ordinal);
        Assert.InRange(lost.FinishedAt!.Value, before, await NowAsync());
        Assert.Equal([StageStatus.Failed, StageStatus.Skipped], lost.Stages.Select(s => s.Status));
        Assert.Equal(lost.FinishedAt, lost.Stages[0].FinishedAt);
        Assert.Equal(2, lost.Attempts);
        Assert.Equal("attempt 2"u8.ToArray(), await ReadAllAsync(job.Id, JobFile.BuildLog)); // kept for whoever looks into it
        Assert.Empty(await _fleet.ExpireLeasesAsync(2, TimeSpan.Zero, default));
        Assert.Null(await _fleet.ClaimAsync("a1", JobStatus.Linting, Lease, default));
    }

    [Fact]
    public async Task ExpireLeasesAsync_LeasesOfManyJobs_EndsOnlyTheRunOutOnesAndSkipsFinishedJobs()
    {
        var expired = await EnqueueAsync();
        var fresh = await EnqueueAsync();
        var finished = await EnqueueAsync();
        await ClaimAsync();
        await ClaimAsync();
        var done = await ClaimAsync();
        Assert.True(await _fleet.CompleteAsync(finished.Id, done.Token, Succeeded(done.Job), default));
        await ExpireNowAsync(expired.Id);
        await ExpireNowAsync(finished.Id);

        var ended = await _fleet.ExpireLeasesAsync(1, TimeSpan.Zero, default);

        Assert.Equal([new ExpiredLease(expired.Id, "a1", Requeued: false)], ended);
        Assert.Equal(JobStatus.Linting, (await _jobs.GetAsync(fresh.Id, default))!.Status);
        Assert.Equal(JobStatus.Succeeded, (await _jobs.GetAsync(finished.Id, default))!.Status);
    }

    [Fact]
    public async Task ExpireLeasesAsync_JobWhoseCancelWasRequested_EndsItAsCanceledNotQueued()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();
        await _fleet.RequestCancelAsync(job.Id, default);
        await ExpireNowAsync(job.Id);

        Assert.Equal([new ExpiredLease(job.Id, "a1", Requeued: false)], await _fleet.ExpireLeasesAsync(5, TimeSpan.Zero, default));

        var stored = (await _jobs.GetAsync(job.Id, default))!;
        Assert.Equal(JobStatus.Canceled, stored.Status);
        Assert.Null(stored.Failure);
        Assert.Equal(lease.Job.Attempts, stored.Attempts);
    }

    [Fact]
    public async Task ExpireLeasesAsync_TwoServersAtOnce_EndEachLeaseOnce()
    {
        var other = new PostgresFleetStore(await _db.OpenInitializedAsync(), new JobMetrics());
        for (var i = 0; i < 30; i++)
        {
            await EnqueueAsync();
            await ClaimAsync();
        }
        await _db.ExecuteAsync("UPDATE jobs SET lease_expires_at = now() - interval '1 minute'");

        var ended = await Task.WhenAll(Task.Run(() => _fleet.ExpireLeasesAsync(5, TimeSpan.Zero, default)), Task.Run(() => other.ExpireLeasesAsync(5, TimeSpan.Zero, default)));

        var ids = ended.SelectMany(e => e).Select(e => e.JobId).ToList();
        Assert.Equal(30, ids.Count);
        Assert.Equal(30, ids.Distinct().Count());
        Assert.Equal(30, await _jobs.CountQueuedAsync(default));
    }

    [Fact]
    public async Task ExpireLeasesAsync_RightAfterARestart_WaitsForTheGraceThenEndsTheLease()
    {
        var job = await EnqueueAsync();
        await ClaimAsync();
        await ExpireNowAsync(job.Id);

        await _db.CrashAndRestartAsync(fixture.Cluster);

        Assert.Empty(await _fleet.ExpireLeasesAsync(1, TimeSpan.FromMinutes(1), default));
        Assert.Equal(JobStatus.Linting, (await _jobs.GetAsync(job.Id, default))!.Status);
        var sinceStart = await _db.ScalarAsync<TimeSpan>("SELECT now() - pg_postmaster_start_time()");
        Assert.InRange(sinceStart, TimeSpan.Zero, TimeSpan.FromSeconds(30));
        // Past the grace (here: a grace shorter than the time since the start), the lease ends.
        Assert.Equal([new ExpiredLease(job.Id, "a1", Requeued: false)], await _fleet.ExpireLeasesAsync(1, sinceStart / 2, default));
    }

    // ---- logs ----

    [Fact]
    public async Task AppendLogAsync_ChunksRetriedOverlappingAndPastTheEnd_StoresEachByteOnceAndReportsGaps()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();

        Assert.Equal(new LogAppend(LogAppendStatus.Appended, 6), await AppendAsync(0, "hello "));
        Assert.Equal(new LogAppend(LogAppendStatus.Appended, 6), await AppendAsync(0, "hello ")); // the same chunk again
        Assert.Equal(new LogAppend(LogAppendStatus.Appended, 6), await AppendAsync(2, "llo")); // wholly inside
        Assert.Equal(new LogAppend(LogAppendStatus.Appended, 11), await AppendAsync(3, "lo world")); // overlapping the end
        Assert.Equal(new LogAppend(LogAppendStatus.Gap, 11), await AppendAsync(12, "!"));
        Assert.Equal(new LogAppend(LogAppendStatus.Appended, 11), await AppendAsync(11, ""));
        Assert.Equal(new LogAppend(LogAppendStatus.Appended, 12), await AppendAsync(11, "!"));

        Assert.Equal("hello world!"u8.ToArray(), await ReadAllAsync(job.Id, JobFile.BuildLog));
        Assert.Null(await _files.OpenReadAsync(job.Id, JobFile.RunLog, default));

        Task<LogAppend> AppendAsync(long offset, string text) =>
            _fleet.AppendLogAsync(job.Id, lease.Token, JobLog.Build, offset, System.Text.Encoding.UTF8.GetBytes(text), 100, default);
    }

    [Fact]
    public async Task AppendLogAsync_PastTheCap_KeepsOnlyTheBytesUpToIt()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();

        Assert.Equal(new LogAppend(LogAppendStatus.Appended, 8), await _fleet.AppendLogAsync(job.Id, lease.Token, JobLog.Run, 0, "12345678"u8.ToArray(), 10, default));
        Assert.Equal(new LogAppend(LogAppendStatus.Appended, 10), await _fleet.AppendLogAsync(job.Id, lease.Token, JobLog.Run, 8, "9abcdef"u8.ToArray(), 10, default));
        Assert.Equal(new LogAppend(LogAppendStatus.Appended, 10), await _fleet.AppendLogAsync(job.Id, lease.Token, JobLog.Run, 10, "more"u8.ToArray(), 10, default));

        Assert.Equal("123456789a"u8.ToArray(), await ReadAllAsync(job.Id, JobFile.RunLog));
    }

    [Fact]
    public async Task AppendLogAsync_ManyChunksAtOnce_EveryByteStoredOnceInOrder()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();
        var text = string.Concat(Enumerable.Range(0, 200).Select(i => $"line {i}\n"));
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);

        // An agent that sends each chunk twice, at once: the copies race for the same offsets.
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            long offset = 0;
            while (offset < bytes.Length)
            {
                var chunk = bytes.AsMemory((int)offset, Math.Min(37, bytes.Length - (int)offset));
                var append = await _fleet.AppendLogAsync(job.Id, lease.Token, JobLog.Build, offset, chunk, 1 << 20, default);
                Assert.Equal(LogAppendStatus.Appended, append.Status);
                offset += chunk.Length;
                Assert.True(append.Length >= offset);
            }
        })));

        Assert.Equal(bytes, await ReadAllAsync(job.Id, JobFile.BuildLog));
    }

    // ---- files ----

    [Fact]
    public async Task PutFileAsync_HeldLease_StoresAndReplacesTheFileInChunks()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();
        var big = new byte[PostgresJobFiles.ChunkBytes * 2 + 10];
        new Random(1).NextBytes(big);

        Assert.True(await _fleet.PutFileAsync(job.Id, lease.Token, JobFile.Sbom, big, default));
        Assert.Equal(big, await ReadAllAsync(job.Id, JobFile.Sbom));
        Assert.True(await _fleet.PutFileAsync(job.Id, lease.Token, JobFile.Sbom, "{}"u8.ToArray(), default));
        Assert.True(await _fleet.PutFileAsync(job.Id, lease.Token, JobFile.ScanReport, Array.Empty<byte>(), default));

        Assert.Equal("{}"u8.ToArray(), await ReadAllAsync(job.Id, JobFile.Sbom));
        Assert.Empty(await ReadAllAsync(job.Id, JobFile.ScanReport));
    }

    [Theory]
    [InlineData(JobFile.Dockerfile)]
    [InlineData(JobFile.Context)]
    [InlineData(JobFile.BuildLog)]
    public async Task PutFileAsync_AFileAgentsDoNotMake_Throws(JobFile file)
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _fleet.PutFileAsync(job.Id, lease.Token, file, "x"u8.ToArray(), default));
    }

    // ---- waiting for work ----

    [Fact]
    public async Task WaitForWorkAsync_NothingQueued_ReturnsFalseAfterTheTimeout()
    {
        await _fleet.WaitForWorkAsync(TimeSpan.FromSeconds(10), default); // the first wait starts the listener and returns once it listens
        var watch = Stopwatch.StartNew();

        Assert.False(await _fleet.WaitForWorkAsync(TimeSpan.FromMilliseconds(400), default));

        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task WaitForWorkAsync_EnqueueOnAnotherServer_WakesTheWaitLongBeforeItsTimeoutAlsoAfterARestart()
    {
        var otherServer = new PostgresJobStore(await _db.OpenInitializedAsync());
        Assert.True(await _fleet.WaitForWorkAsync(TimeSpan.FromSeconds(10), default)); // listening from now on

        await AssertWokenByAsync(() => otherServer.TryEnqueueAsync(NewJob(), 100, default));

        await _db.CrashAndRestartAsync(fixture.Cluster);
        // The listener reconnects and wakes its waiters (notifications may have been lost meanwhile).
        Assert.True(await _fleet.WaitForWorkAsync(TimeSpan.FromSeconds(20), default));

        await AssertWokenByAsync(() => otherServer.TryEnqueueAsync(NewJob(), 100, default));
    }

    [Fact]
    public async Task WaitForWorkAsync_JobQueuedAgainByReleaseOrExpiry_WakesTheWait()
    {
        var job = await EnqueueAsync();
        var lease = await ClaimAsync();
        Assert.True(await _fleet.WaitForWorkAsync(TimeSpan.FromSeconds(10), default));

        await AssertWokenByAsync(() => _fleet.ReleaseAsync(job.Id, lease.Token, default));
        await ClaimAsync();
        await ExpireNowAsync(job.Id);
        await AssertWokenByAsync(() => _fleet.ExpireLeasesAsync(5, TimeSpan.Zero, default));
    }

    [Fact]
    public async Task WaitForWorkAsync_ManyWaiters_OneEnqueueWakesThemAll()
    {
        Assert.True(await _fleet.WaitForWorkAsync(TimeSpan.FromSeconds(10), default));
        var waits = Enumerable.Range(0, 10).Select(_ => _fleet.WaitForWorkAsync(TimeSpan.FromSeconds(30), default)).ToList();

        await EnqueueAsync();

        Assert.All(await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(10)), Assert.True);
    }

    // ---- submission rate ----

    [Fact]
    public async Task TryCountSubmissionAsync_FromTwoServers_CountsTogetherPerOwnerUntilTheMinuteIsFull()
    {
        await WaitUntilNotNearTheEndOfAMinuteAsync();
        var servers = new[] { _fleet, new PostgresFleetStore(await _db.OpenInitializedAsync(), new JobMetrics()) };

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => servers[i % 2].TryCountSubmissionAsync("ann", 4, default))));

        Assert.Equal(4, results.Count(r => r is null));
        Assert.All(results.OfType<TimeSpan>(), wait => Assert.InRange(wait, TimeSpan.FromTicks(1), TimeSpan.FromMinutes(1)));
        Assert.Null(await servers[1].TryCountSubmissionAsync("bob", 4, default));
        Assert.Equal(4, await _db.ScalarAsync<int>("SELECT count FROM submit_counts WHERE owner = 'ann'"));
    }

    [Fact]
    public async Task TryCountSubmissionAsync_MinuteFull_ReturnsTheTimeLeftInTheMinuteByTheDatabaseClock()
    {
        await WaitUntilNotNearTheEndOfAMinuteAsync();
        Assert.Null(await _fleet.TryCountSubmissionAsync("ann", 1, default));
        var left = await _db.ScalarAsync<TimeSpan>("SELECT date_trunc('minute', now(), 'UTC') + interval '1 minute' - now()");

        var wait = await _fleet.TryCountSubmissionAsync("ann", 1, default);

        Assert.NotNull(wait);
        Assert.InRange(wait.Value, left - TimeSpan.FromSeconds(2), left);
    }

    [Fact]
    public async Task TryCountSubmissionAsync_FirstCall_RemovesTheCountsOfPastMinutes()
    {
        await WaitUntilNotNearTheEndOfAMinuteAsync();
        await _db.ExecuteAsync("INSERT INTO submit_counts VALUES ('ann', date_trunc('minute', now(), 'UTC') - interval '5 minutes', 9), ('old', '2020-01-01', 3)");

        Assert.Null(await _fleet.TryCountSubmissionAsync("ann", 2, default));

        Assert.Equal(["ann"], await _db.ColumnAsync<string>("SELECT owner FROM submit_counts"));
        Assert.Equal(1, await _db.ScalarAsync<int>("SELECT count FROM submit_counts"));
    }

    // ---- helpers ----

    private async Task AssertWokenByAsync(Func<Task> queue)
    {
        var wait = _fleet.WaitForWorkAsync(TimeSpan.FromSeconds(30), default);
        Assert.False(wait.IsCompleted);
        var watch = Stopwatch.StartNew();

        await queue();

        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"woken after {watch.Elapsed}");
    }

    private async Task<Lease> ClaimAsync(TimeSpan? lease = null, string agent = "a1") =>
        await _fleet.ClaimAsync(agent, JobStatus.Linting, lease ?? Lease, default) ?? throw new InvalidOperationException("nothing to claim");

    private async Task<Job> EnqueueAsync() =>
        await _jobs.TryEnqueueAsync(NewJob(), 1000, default) ?? throw new InvalidOperationException("the store refused a job");

    private Job NewJob()
    {
        var n = Interlocked.Increment(ref _made);
        return new Job($"job{n:d4}", 0, $"job {n}", JobStatus.Queued, new JobLimits(60, 256, 0.5, 64), $"corr-{n}",
            new DateTimeOffset(2026, 3, 1, 12, 0, n, TimeSpan.Zero), null, null, null, null,
            [new("lint", StageStatus.Pending, null, null)], null, null, [], 0, Owner: "ann");
    }

    private static IReadOnlyList<StageState> Stages(StageStatus first, StageStatus second, DateTimeOffset? at) =>
        [new("build", first, at, null), new("run", second, null, null)];

    private static Job Succeeded(Job job) => job with
    {
        Status = JobStatus.Succeeded,
        FinishedAt = job.StartedAt!.Value.AddSeconds(5),
        Performance = 42.5,
        ExitCode = 0,
        Stages = job.Stages.Select(s => s with { Status = StageStatus.Succeeded, StartedAt = job.StartedAt, FinishedAt = job.StartedAt!.Value.AddSeconds(5) }).ToList(),
    };

    private Task ExpireNowAsync(string jobId) =>
        _db.ExecuteAsync("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = @id", ("id", jobId));

    private Task<DateTimeOffset> NowAsync() => _db.ScalarAsync<DateTimeOffset>("SELECT now()");

    /// <summary>Counts are per minute: a test of them must not straddle two.</summary>
    private async Task WaitUntilNotNearTheEndOfAMinuteAsync()
    {
        var second = await _db.ScalarAsync<double>("SELECT extract(second FROM now())::float8");
        if (second > 50)
        {
            await Task.Delay(TimeSpan.FromSeconds(60.5 - second));
        }
    }

    private async Task<byte[]> ReadAllAsync(string jobId, JobFile file)
    {
        await using var stream = await _files.OpenReadAsync(jobId, file, default) ?? throw new InvalidOperationException($"{jobId} has no {file}");
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static string Json(Job? job) => JsonSerializer.Serialize(job, JobJson.Options);
}
