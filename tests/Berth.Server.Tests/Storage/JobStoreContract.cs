using System.Collections.Concurrent;
using System.Text.Json;
using Berth.Scanner.Reports;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;

namespace Berth.Server.Tests.Storage;

/// <summary>
/// What every <see cref="IJobStore"/> must do, run against a real store. A store's test class derives from this
/// and says only how to open a store over storage of its own (<see cref="OpenStore"/>): xunit makes one instance
/// of the class per test, so each test starts from empty storage. Times are whole milliseconds, UTC, so a store
/// with coarser timestamps than .NET ticks (PostgreSQL keeps microseconds) still round-trips them exactly.
/// </summary>
public abstract class JobStoreContract : IAsyncLifetime
{
    private static readonly DateTimeOffset Epoch = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private int _made;

    /// <summary>The store under test, initialized.</summary>
    protected IJobStore Store { get; private set; } = null!;

    public static TheoryData<JobStatus> AllStatuses => new(Enum.GetValues<JobStatus>());

    public static TheoryData<JobStatus> StatusesButQueued => new(Enum.GetValues<JobStatus>().Where(s => s != JobStatus.Queued));

    /// <summary>
    /// A new store object over this test's storage, not yet initialized: empty storage on the first call, the
    /// same storage on later calls (that is how the contract reopens a store).
    /// </summary>
    protected abstract IJobStore OpenStore();

    public virtual async Task InitializeAsync() => Store = await OpenInitializedAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    // ---- enqueue ----

    [Fact]
    public async Task TryEnqueueAsync_NewJob_ReturnsItWithASequenceAndGetReturnsEveryField()
    {
        var job = FullJob(NewJob());

        var stored = await Store.TryEnqueueAsync(job, 10, default);

        Assert.NotNull(stored);
        Assert.True(stored.Sequence > 0);
        Assert.Equal(Json(job with { Sequence = stored.Sequence }), Json(stored));
        Assert.Equal(Json(stored), Json(await Store.GetAsync(job.Id, default)));
    }

    [Fact]
    public async Task TryEnqueueAsync_JobWithoutOptionalFields_ComesBackWithNulls()
    {
        var job = NewJob(); // no name, correlation id, times, failure, image, exit code, scan; empty lint

        var stored = await Store.TryEnqueueAsync(job, 10, default);

        Assert.Equal(Json(job with { Sequence = stored!.Sequence }), Json(await Store.GetAsync(job.Id, default)));
    }

    [Fact]
    public async Task TryEnqueueAsync_OneAfterAnother_SequencesIncrease()
    {
        var first = await EnqueueAsync();
        var second = await EnqueueAsync();
        var third = await EnqueueAsync();

        Assert.True(first.Sequence < second.Sequence && second.Sequence < third.Sequence);
    }

    [Fact]
    public async Task TryEnqueueAsync_AfterTheNewestJobIsDeleted_SequenceIsNotReused()
    {
        await EnqueueAsync();
        var newest = await AddAsync(JobStatus.Succeeded);
        Assert.True(await Store.DeleteIfTerminalAsync(newest.Id, default));

        var next = await EnqueueAsync();

        Assert.True(next.Sequence > newest.Sequence);
    }

    [Fact]
    public async Task TryEnqueueAsync_QueueAtCap_ReturnsNullAndStoresNothing()
    {
        await EnqueueAsync(cap: 2);
        await EnqueueAsync(cap: 2);
        var refused = NewJob();

        Assert.Null(await Store.TryEnqueueAsync(refused, 2, default));
        Assert.Null(await Store.GetAsync(refused.Id, default));
        Assert.Equal(2, await Store.CountQueuedAsync(default));
    }

    [Fact]
    public async Task TryEnqueueAsync_CapCountsOnlyQueuedJobs()
    {
        await AddAsync(JobStatus.Running);
        await AddAsync(JobStatus.Failed);
        await EnqueueAsync(cap: 1);

        Assert.Null(await Store.TryEnqueueAsync(NewJob(), 1, default));
        await Store.ClaimNextAsync(JobStatus.Linting, At(100), default);
        Assert.NotNull(await Store.TryEnqueueAsync(NewJob(), 1, default));
    }

    [Fact]
    public async Task TryEnqueueAsync_ManyAtOnceAgainstACap_ExactlyCapAreStored()
    {
        const int Cap = 5;
        var jobs = Enumerable.Range(0, 24).Select(_ => NewJob()).ToList();

        var results = await Task.WhenAll(jobs.Select(job => Task.Run(() => Store.TryEnqueueAsync(job, Cap, default))));

        var accepted = results.OfType<Job>().ToList();
        Assert.Equal(Cap, accepted.Count);
        Assert.Equal(Cap, await Store.CountQueuedAsync(default));
        Assert.Equal(accepted.Select(j => j.Id).Order(), (await Store.ListAsync(null, null, 100, null, default)).Select(j => j.Id).Order());
        Assert.Equal(Cap, accepted.Select(j => j.Sequence).Distinct().Count());
    }

    // ---- get ----

    [Fact]
    public async Task GetAsync_UnknownId_ReturnsNull()
    {
        await EnqueueAsync();

        Assert.Null(await Store.GetAsync(NewJob().Id, default));
    }

    // ---- list ----

    [Fact]
    public async Task ListAsync_EmptyStore_ReturnsNothing() =>
        Assert.Empty(await Store.ListAsync(null, null, 10, null, default));

    [Fact]
    public async Task ListAsync_NoFilter_EveryJobNewestFirst()
    {
        var added = new[]
        {
            await AddAsync(JobStatus.Succeeded, "ann"), await EnqueueAsync("bob"), await AddAsync(JobStatus.Running, "ann"),
            await AddAsync(JobStatus.Canceled, "cy"), await EnqueueAsync("ann"),
        };

        var listed = await Store.ListAsync(null, null, 10, null, default);

        Assert.Equal(Enumerable.Reverse(added).Select(j => j.Id), listed.Select(j => j.Id));
        Assert.Equal(Json(await Store.GetAsync(added[2].Id, default)), Json(listed.Single(j => j.Id == added[2].Id)));
    }

    [Fact]
    public async Task ListAsync_Limit_ReturnsTheNewestThatMany()
    {
        var added = await AddManyAsync(5);

        var listed = await Store.ListAsync(null, null, 2, null, default);

        Assert.Equal([added[4].Id, added[3].Id], listed.Select(j => j.Id));
    }

    [Fact]
    public async Task ListAsync_AfterId_ContinuesWithTheJobsOlderThanTheCursor()
    {
        var added = await AddManyAsync(5);

        var listed = await Store.ListAsync(null, null, 2, added[3].Id, default);

        Assert.Equal([added[2].Id, added[1].Id], listed.Select(j => j.Id));
    }

    [Fact]
    public async Task ListAsync_PagingWithTheLastIdOfEachPage_VisitsEveryJobOnceNewestFirst()
    {
        var added = await AddManyAsync(7);
        var seen = new List<string>();
        string? after = null;

        for (var page = 0; page < 10; page++)
        {
            var jobs = await Store.ListAsync(null, null, 3, after, default);
            if (jobs.Count == 0)
            {
                break;
            }
            seen.AddRange(jobs.Select(j => j.Id));
            after = jobs[^1].Id;
        }

        Assert.Equal(Enumerable.Reverse(added).Select(j => j.Id), seen);
    }

    [Fact]
    public async Task ListAsync_AfterTheOldestJob_ReturnsNothing()
    {
        var added = await AddManyAsync(3);

        Assert.Empty(await Store.ListAsync(null, null, 10, added[0].Id, default));
    }

    [Fact]
    public async Task ListAsync_AfterAnUnknownId_ReturnsNothing()
    {
        await AddManyAsync(3);

        Assert.Empty(await Store.ListAsync(null, null, 10, NewJob().Id, default));
    }

    [Fact]
    public async Task ListAsync_StatusFilter_OnlyJobsInThatStatusNewestFirst()
    {
        var a = await AddAsync(JobStatus.Failed);
        await AddAsync(JobStatus.Succeeded);
        await EnqueueAsync();
        var b = await AddAsync(JobStatus.Failed);
        await AddAsync(JobStatus.Running);

        var listed = await Store.ListAsync(null, JobStatus.Failed, 10, null, default);

        Assert.Equal([b.Id, a.Id], listed.Select(j => j.Id));
    }

    [Theory]
    [MemberData(nameof(AllStatuses))]
    public async Task ListAsync_StatusFilter_FindsAJobInEveryStatus(JobStatus status)
    {
        foreach (var other in Enum.GetValues<JobStatus>().Where(s => s != status))
        {
            await AddAsync(other);
        }
        var job = await AddAsync(status);

        var listed = await Store.ListAsync(null, status, 10, null, default);

        Assert.Equal([job.Id], listed.Select(j => j.Id));
        Assert.Equal(status, listed[0].Status);
    }

    [Fact]
    public async Task ListAsync_StatusFilterMatchingNothing_ReturnsNothing()
    {
        await AddAsync(JobStatus.Succeeded);
        await EnqueueAsync();

        Assert.Empty(await Store.ListAsync(null, JobStatus.Scanning, 10, null, default));
    }

    [Fact]
    public async Task ListAsync_OwnerFilter_OnlyThatOwnersJobs()
    {
        var a = await EnqueueAsync("ann");
        await EnqueueAsync("bob");
        var b = await AddAsync(JobStatus.Succeeded, "ann");
        await AddAsync(JobStatus.Succeeded, "annie"); // a prefix is not a match

        Assert.Equal([b.Id, a.Id], (await Store.ListAsync("ann", null, 10, null, default)).Select(j => j.Id));
        Assert.Empty(await Store.ListAsync("nobody", null, 10, null, default));
    }

    [Fact]
    public async Task ListAsync_OwnerStatusAndCursorTogether_AllApply()
    {
        var added = new List<Job>();
        for (var i = 0; i < 4; i++)
        {
            added.Add(await AddAsync(JobStatus.Failed, "ann"));
            await AddAsync(JobStatus.Failed, "bob");
            await AddAsync(JobStatus.Succeeded, "ann");
        }

        var first = await Store.ListAsync("ann", JobStatus.Failed, 2, null, default);
        var second = await Store.ListAsync("ann", JobStatus.Failed, 2, first[^1].Id, default);

        Assert.Equal([added[3].Id, added[2].Id], first.Select(j => j.Id));
        Assert.Equal([added[1].Id, added[0].Id], second.Select(j => j.Id));
    }

    [Fact]
    public async Task ListAsync_CursorFromAnotherOwnersJob_PagesByItsPosition()
    {
        var ann = await EnqueueAsync("ann");
        var bob = await EnqueueAsync("bob");
        await EnqueueAsync("ann");

        Assert.Equal([ann.Id], (await Store.ListAsync("ann", null, 10, bob.Id, default)).Select(j => j.Id));
    }

    // ---- claim ----

    [Fact]
    public async Task ClaimNextAsync_NothingQueued_ReturnsNull()
    {
        await AddAsync(JobStatus.Running);
        await AddAsync(JobStatus.Succeeded);

        Assert.Null(await Store.ClaimNextAsync(JobStatus.Linting, At(100), default));
    }

    [Fact]
    public async Task ClaimNextAsync_SeveralQueued_TakesTheOldestAndStartsIt()
    {
        var oldest = await EnqueueAsync();
        await EnqueueAsync();

        var claimed = await Store.ClaimNextAsync(JobStatus.Linting, At(100), default);

        Assert.NotNull(claimed);
        Assert.Equal(oldest.Id, claimed.Id);
        Assert.Equal(JobStatus.Linting, claimed.Status);
        Assert.Equal(At(100), claimed.StartedAt);
        Assert.Equal(1, claimed.Attempts);
        Assert.Equal(Json(claimed), Json(await Store.GetAsync(oldest.Id, default)));
        Assert.Equal(1, await Store.CountQueuedAsync(default));
    }

    [Fact]
    public async Task ClaimNextAsync_InTurn_TakesJobsOldestFirstThenNull()
    {
        var added = await AddManyAsync(3);

        var claimed = new List<string?>();
        for (var i = 0; i < 4; i++)
        {
            claimed.Add((await Store.ClaimNextAsync(JobStatus.Building, At(100 + i), default))?.Id);
        }

        Assert.Equal([added[0].Id, added[1].Id, added[2].Id, null], claimed);
    }

    [Fact]
    public async Task ClaimNextAsync_OldestIsNoLongerQueued_TakesTheNextQueued()
    {
        var canceled = await EnqueueAsync();
        var next = await EnqueueAsync();
        Assert.True(await Store.CancelIfQueuedAsync(canceled.Id, At(50), default));

        Assert.Equal(next.Id, (await Store.ClaimNextAsync(JobStatus.Linting, At(100), default))?.Id);
    }

    [Fact]
    public async Task ClaimNextAsync_RequeuedJob_CountsASecondAttempt()
    {
        await EnqueueAsync();
        var first = await Store.ClaimNextAsync(JobStatus.Running, At(100), default);
        await Store.SaveAsync(first! with { Status = JobStatus.Queued, StartedAt = null }, default);

        var second = await Store.ClaimNextAsync(JobStatus.Linting, At(200), default);

        Assert.Equal(first.Id, second?.Id);
        Assert.Equal(2, second!.Attempts);
        Assert.Equal(At(200), second.StartedAt);
    }

    [Fact]
    public async Task ClaimNextAsync_ManyClaimersAtOnce_EachJobClaimedExactlyOnce()
    {
        var added = await AddManyAsync(30);
        var claimed = new ConcurrentBag<Job>();

        await Task.WhenAll(Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
        {
            while (await Store.ClaimNextAsync(JobStatus.Linting, At(1000 + worker), default) is { } job)
            {
                claimed.Add(job);
            }
        })));

        Assert.Equal(added.Select(j => j.Id).Order(), claimed.Select(j => j.Id).Order());
        Assert.All(claimed, job => Assert.Equal(1, job.Attempts));
        Assert.Equal(0, await Store.CountQueuedAsync(default));
        Assert.All(await Store.ListAsync(null, null, 100, null, default), job => Assert.Equal(1, job.Attempts));
    }

    // ---- save ----

    [Fact]
    public async Task SaveAsync_ClaimedJob_StoresItsProgress()
    {
        await EnqueueAsync();
        var claimed = await Store.ClaimNextAsync(JobStatus.Linting, At(100), default);
        var progressed = FullJob(claimed!) with { Status = JobStatus.Scanning, FinishedAt = null, Failure = null, Cache = claimed.Cache }; // "cache" is the submitter's, never changed by a save

        await Store.SaveAsync(progressed, default);

        Assert.Equal(Json(progressed), Json(await Store.GetAsync(claimed.Id, default)));
    }

    [Theory]
    [MemberData(nameof(AllStatuses))]
    public async Task SaveAsync_AfterAFinalSave_FurtherSavesAreIgnoredOnlyOnceTerminal(JobStatus status)
    {
        var job = await AddAsync(status);
        var later = job with { Status = JobStatus.Running, Name = "saved later", ExitCode = 42 };

        await Store.SaveAsync(later, default);

        var stored = await Store.GetAsync(job.Id, default);
        Assert.Equal(Json(status.IsTerminal() ? job : later), Json(stored));
    }

    [Fact]
    public async Task SaveAsync_AnotherOwner_OwnerStaysAsEnqueued()
    {
        var job = await EnqueueAsync("ann");

        await Store.SaveAsync(job with { Owner = "mallory", Status = JobStatus.Running }, default);

        var stored = await Store.GetAsync(job.Id, default);
        Assert.Equal("ann", stored!.Owner);
        Assert.Equal(JobStatus.Running, stored.Status);
        Assert.Empty(await Store.ListAsync("mallory", null, 10, null, default));
    }

    [Fact]
    public async Task SaveAsync_UnknownJob_StoresNothing()
    {
        var job = NewJob() with { Status = JobStatus.Running };

        await Store.SaveAsync(job, default);

        Assert.Null(await Store.GetAsync(job.Id, default));
        Assert.Empty(await Store.ListAsync(null, null, 10, null, default));
    }

    // ---- cancel ----

    [Fact]
    public async Task CancelIfQueuedAsync_QueuedJob_IsCanceledAtOnceWithEveryStageSkipped()
    {
        var job = await EnqueueAsync();

        Assert.True(await Store.CancelIfQueuedAsync(job.Id, At(77), default));

        var stored = await Store.GetAsync(job.Id, default);
        Assert.Equal(JobStatus.Canceled, stored!.Status);
        Assert.Equal(At(77), stored.FinishedAt);
        Assert.Equal(job.Stages.Select(s => s.Name), stored.Stages.Select(s => s.Name));
        Assert.All(stored.Stages, s => Assert.Equal(StageStatus.Skipped, s.Status));
        Assert.Equal(0, await Store.CountQueuedAsync(default));
    }

    [Theory]
    [MemberData(nameof(StatusesButQueued))]
    public async Task CancelIfQueuedAsync_JobNotQueued_ReturnsFalseAndChangesNothing(JobStatus status)
    {
        var job = await AddAsync(status);

        Assert.False(await Store.CancelIfQueuedAsync(job.Id, At(77), default));
        Assert.Equal(Json(job), Json(await Store.GetAsync(job.Id, default)));
    }

    [Fact]
    public async Task CancelIfQueuedAsync_UnknownJob_ReturnsFalse()
    {
        await EnqueueAsync();

        Assert.False(await Store.CancelIfQueuedAsync(NewJob().Id, At(77), default));
        Assert.Equal(1, await Store.CountQueuedAsync(default));
    }

    // ---- delete ----

    [Theory]
    [MemberData(nameof(AllStatuses))]
    public async Task DeleteIfTerminalAsync_AnyStatus_DeletesExactlyTerminalJobs(JobStatus status)
    {
        var neighbour = await AddAsync(JobStatus.Succeeded);
        var job = await AddAsync(status);

        var deleted = await Store.DeleteIfTerminalAsync(job.Id, default);

        Assert.Equal(status.IsTerminal(), deleted);
        Assert.Equal(!status.IsTerminal(), await Store.GetAsync(job.Id, default) is not null);
        Assert.NotNull(await Store.GetAsync(neighbour.Id, default));
    }

    [Fact]
    public async Task DeleteIfTerminalAsync_Twice_SecondReturnsFalse()
    {
        var job = await AddAsync(JobStatus.Failed);

        Assert.True(await Store.DeleteIfTerminalAsync(job.Id, default));
        Assert.False(await Store.DeleteIfTerminalAsync(job.Id, default));
        Assert.Empty(await Store.ListAsync(null, null, 10, null, default));
    }

    [Fact]
    public async Task GetAsync_FinishedJobReadManyTimesThenDeleted_ReadsTheSameUntilDeletedThenNull()
    {
        var job = await AddAsync(JobStatus.Succeeded);
        var first = await Store.GetAsync(job.Id, default);

        Assert.Equal(Json(first), Json(await Store.GetAsync(job.Id, default))); // a store may keep finished jobs in memory
        Assert.True(await Store.DeleteIfTerminalAsync(job.Id, default));
        Assert.Null(await Store.GetAsync(job.Id, default)); // never after the delete
    }

    // ---- active, queued, writable ----

    [Fact]
    public async Task ListActiveAsync_JobsInEveryStatus_ReturnsTheActiveOnesOldestFirst()
    {
        var added = new List<Job>();
        foreach (var status in Enum.GetValues<JobStatus>().Concat(Enumerable.Reverse(Enum.GetValues<JobStatus>())))
        {
            added.Add(await AddAsync(status));
        }

        var active = await Store.ListActiveAsync(default);

        Assert.Equal(added.Where(j => j.Status.IsActive()).Select(j => j.Id), active.Select(j => j.Id));
        Assert.Equal(Json(added.First(j => j.Status.IsActive())), Json(active[0]));
    }

    [Fact]
    public async Task ListActiveAsync_NoActiveJobs_ReturnsNothing()
    {
        await EnqueueAsync();
        await AddAsync(JobStatus.Succeeded);

        Assert.Empty(await Store.ListActiveAsync(default));
    }

    [Fact]
    public async Task CountQueuedAsync_JobsInEveryStatus_CountsOnlyQueued()
    {
        Assert.Equal(0, await Store.CountQueuedAsync(default));
        foreach (var status in Enum.GetValues<JobStatus>())
        {
            await AddAsync(status);
        }
        await EnqueueAsync();

        Assert.Equal(2, await Store.CountQueuedAsync(default));
    }

    [Fact]
    public async Task CountActiveAsync_JobsInEveryStatus_CountsOnlyActive()
    {
        Assert.Equal(0, await Store.CountActiveAsync(default));
        foreach (var status in Enum.GetValues<JobStatus>())
        {
            await AddAsync(status);
        }
        await EnqueueAsync();

        Assert.Equal(Enum.GetValues<JobStatus>().Count(s => s.IsActive()), await Store.CountActiveAsync(default));
    }

    [Fact]
    public async Task CheckWritableAsync_Repeatedly_SucceedsAndLeavesJobsAlone()
    {
        var job = await EnqueueAsync();

        await Store.CheckWritableAsync(default);
        await Store.CheckWritableAsync(default);

        Assert.Equal([job.Id], (await Store.ListAsync(null, null, 10, null, default)).Select(j => j.Id));
        Assert.Equal(1, await Store.CountQueuedAsync(default));
    }

    // ---- persistence ----

    [Fact]
    public async Task InitializeAsync_Again_KeepsEveryJob()
    {
        var added = await AddManyAsync(3);

        await Store.InitializeAsync(default);

        Assert.Equal(Enumerable.Reverse(added).Select(Json), (await Store.ListAsync(null, null, 10, null, default)).Select(Json));
    }

    [Fact]
    public async Task OpenStore_Reopened_HasEveryJobAndStateAndGoesOnNumbering()
    {
        var queued = await Store.TryEnqueueAsync(FullJob(NewJob("ann")), 10, default);
        var running = await AddAsync(JobStatus.Running, "bob");
        var failed = await AddAsync(JobStatus.Failed, "ann");

        var reopened = await OpenInitializedAsync();

        Assert.Equal(new[] { failed, running, queued }.Select(Json), (await reopened.ListAsync(null, null, 10, null, default)).Select(Json));
        Assert.Equal([running.Id], (await reopened.ListActiveAsync(default)).Select(j => j.Id));
        Assert.Equal(1, await reopened.CountQueuedAsync(default));
        var next = await reopened.TryEnqueueAsync(NewJob(), 10, default);
        Assert.True(next!.Sequence > failed.Sequence);
        Assert.Equal(queued!.Id, (await reopened.ClaimNextAsync(JobStatus.Linting, At(500), default))?.Id);
    }

    // ---- helpers ----

    protected async Task<IJobStore> OpenInitializedAsync()
    {
        var store = OpenStore();
        await store.InitializeAsync(default);
        return store;
    }

    /// <summary>
    /// A queued job as the API makes one, every optional field empty. Ids are 32 hex digits like the server's,
    /// in no particular order, so that a store ordering by id instead of by sequence fails the list tests.
    /// </summary>
    protected Job NewJob(string owner = Job.LocalOwner)
    {
        var n = Interlocked.Increment(ref _made);
        var id = unchecked((uint)n * 2654435761u).ToString("x8") + n.ToString("x24");
        return new Job(id, 0, null, JobStatus.Queued, new JobLimits(60, 256, 0.5, 64), null, At(n), null, null, null, null,
            [new("lint", StageStatus.Pending, null, null), new("build", StageStatus.Pending, null, null), new("run", StageStatus.Pending, null, null)],
            null, null, [], 0, Owner: owner);
    }

    /// <summary>The job with every optional field filled in.</summary>
    protected static Job FullJob(Job job) => job with
    {
        Name = "full job \u00e9 \"quoted\"",
        CorrelationId = "corr-" + job.Id[..8],
        StartedAt = job.CreatedAt.AddMilliseconds(1500),
        FinishedAt = job.CreatedAt.AddSeconds(9),
        Performance = 1234.5625,
        Failure = new JobFailure(FailureReasons.Interrupted, "line one\nline two"),
        Stages = [new("lint", StageStatus.Succeeded, job.CreatedAt, job.CreatedAt.AddSeconds(1)), new("build", StageStatus.Failed, job.CreatedAt.AddSeconds(1), null)],
        ImageId = "sha256:" + new string('b', 64),
        ExitCode = 3_000_000_000L,
        Lint = [new LintFinding("DL3007", 1, LintSeverity.Warning, "pin the base image"), new LintFinding("BERTH001", 4, LintSeverity.Error, "no 'ADD' from URLs")],
        Attempts = 2,
        Scan = new ScanSummary(ScanStatus.Incomplete, 96, new SeverityCounts(1, 2, 3, 4, 5), 2.5, ["a warning"],
            new ScanDatabaseSummary("bundled", 18_071, 2.5), ["layer 3"], "debian 13 matched as debian 12", 2),
        Cache = false,
        CacheHit = true,
    };

    protected static DateTimeOffset At(int milliseconds) => Epoch.AddMilliseconds(milliseconds);

    protected static string Json(Job? job) => JsonSerializer.Serialize(job, JobJson.Options);

    protected async Task<Job> EnqueueAsync(string owner = Job.LocalOwner, int cap = 1000) =>
        await Store.TryEnqueueAsync(NewJob(owner), cap, default) ?? throw new InvalidOperationException("the store refused a job under its cap");

    protected async Task<Job[]> AddManyAsync(int count)
    {
        var jobs = new Job[count];
        for (var i = 0; i < count; i++)
        {
            jobs[i] = await EnqueueAsync();
        }
        return jobs;
    }

    /// <summary>
    /// A job in <paramref name="status"/>, put there through the store as the server does: enqueued, then saved in
    /// that status (a terminal save last, as a worker finishes a job). Returns the job as stored.
    /// </summary>
    protected async Task<Job> AddAsync(JobStatus status, string owner = Job.LocalOwner)
    {
        var job = await EnqueueAsync(owner);
        if (status == JobStatus.Queued)
        {
            return job;
        }
        var saved = job with
        {
            Status = status,
            StartedAt = job.CreatedAt.AddMilliseconds(10),
            FinishedAt = status.IsTerminal() ? job.CreatedAt.AddMilliseconds(20) : null,
            Attempts = 1,
            ExitCode = status == JobStatus.Succeeded ? 0 : null,
        };
        await Store.SaveAsync(saved, default);
        return await Store.GetAsync(job.Id, default) ?? throw new InvalidOperationException("a saved job vanished");
    }
}
