using Berth.Server.Jobs;
using Berth.Server.Webhooks;

namespace Berth.Server.Tests.Webhooks;

/// <summary>
/// What every <see cref="IWebhookOutbox"/> must do, over a real job store: a store's test class derives from this and says
/// how to open the store and its outbox over storage of its own (the same storage on later calls, which is how a restart
/// is shown). Times are whole seconds, UTC.
/// </summary>
public abstract class WebhookOutboxContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Claim = TimeSpan.FromSeconds(60);

    protected IJobStore Store { get; private set; } = null!;

    protected IWebhookOutbox Outbox { get; private set; } = null!;

    /// <summary>A new store and outbox over this test's storage, not yet initialized.</summary>
    protected abstract (IJobStore Store, IWebhookOutbox Outbox) Open();

    public virtual async Task InitializeAsync() => (Store, Outbox) = await OpenInitializedAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected async Task<(IJobStore Store, IWebhookOutbox Outbox)> OpenInitializedAsync()
    {
        var (store, outbox) = Open();
        await store.InitializeAsync(default);
        return (store, outbox);
    }

    protected static Job NewJob(string? url = "https://hooks.example.com/berth?token=abc")
    {
        var id = Guid.NewGuid().ToString("N");
        return new Job(id, 0, null, JobStatus.Queued, new JobLimits(60, 256, 1), null, Now.AddMinutes(-5), null, null, null, null,
            [], null, null, [], 0, Webhook: url is null ? null : JobWebhook.New)
        {
            Callback = url is null ? null : new JobCallback(url, "delivery-" + id),
        };
    }

    /// <summary>Enqueues the job and saves it finished (as a worker or an agent's result would).</summary>
    protected async Task<Job> FinishedAsync(Job job, JobStatus status = JobStatus.Succeeded)
    {
        var stored = await Store.TryEnqueueAsync(job, 1000, default);
        Assert.NotNull(stored);
        await Store.SaveAsync(stored with { Status = status, StartedAt = Now.AddMinutes(-4), FinishedAt = Now.AddMinutes(-1) }, default);
        return stored;
    }

    [Fact]
    public async Task ClaimDueAsync_JobNotFinished_ClaimsNothingUntilItFinishes()
    {
        var job = NewJob();
        var stored = await Store.TryEnqueueAsync(job, 1000, default);
        await Store.SaveAsync(stored! with { Status = JobStatus.Running, StartedAt = Now }, default);

        Assert.Empty(await Outbox.ClaimDueAsync(Now, Claim, 10, default));

        await Store.SaveAsync(stored with { Status = JobStatus.Failed, FinishedAt = Now }, default);
        var claimed = Assert.Single(await Outbox.ClaimDueAsync(Now, Claim, 10, default));
        Assert.Equal(new WebhookDelivery(job.Id, job.Callback!.Url, job.Callback.DeliveryId, 1), claimed);
    }

    [Theory]
    [InlineData(JobStatus.Succeeded)]
    [InlineData(JobStatus.Failed)]
    [InlineData(JobStatus.Canceled)]
    public async Task ClaimDueAsync_EveryTerminalStatus_IsDue(JobStatus status)
    {
        var job = await FinishedAsync(NewJob(), status);

        Assert.Equal(job.Id, Assert.Single(await Outbox.ClaimDueAsync(Now, Claim, 10, default)).JobId);
    }

    [Fact]
    public async Task ClaimDueAsync_CanceledWhileQueued_IsDue()
    {
        var job = await Store.TryEnqueueAsync(NewJob(), 1000, default);
        Assert.True(await Store.CancelIfQueuedAsync(job!.Id, Now, default));

        Assert.Equal(job.Id, Assert.Single(await Outbox.ClaimDueAsync(Now, Claim, 10, default)).JobId);
    }

    [Fact]
    public async Task ClaimDueAsync_JobWithoutCallback_IsNeverClaimedAndHasNoWebhook()
    {
        var job = await FinishedAsync(NewJob(url: null));

        Assert.Empty(await Outbox.ClaimDueAsync(Now.AddDays(1), Claim, 10, default));
        Assert.Null((await Store.GetAsync(job.Id, default))!.Webhook);
    }

    [Fact]
    public async Task GetAsync_PendingDelivery_ShowsItWithoutTheUrl()
    {
        var job = await FinishedAsync(NewJob());

        var read = await Store.GetAsync(job.Id, default);

        Assert.Equal(JobWebhook.New, read!.Webhook);
        Assert.Null(read.Callback);
    }

    [Fact]
    public async Task ClaimDueAsync_Claimed_IsNotClaimedAgainUntilTheClaimRunsOut()
    {
        await FinishedAsync(NewJob());
        Assert.Single(await Outbox.ClaimDueAsync(Now, Claim, 10, default));

        Assert.Empty(await Outbox.ClaimDueAsync(Now.AddSeconds(59), Claim, 10, default));
        var again = Assert.Single(await Outbox.ClaimDueAsync(Now.AddSeconds(60), Claim, 10, default)); // the claimant died mid-attempt

        Assert.Equal(2, again.Attempt); // the attempt cut short counts
    }

    [Fact]
    public async Task ClaimDueAsync_Claimed_CountsTheAttemptBeforeItIsMade()
    {
        var job = await FinishedAsync(NewJob());

        Assert.Equal(1, Assert.Single(await Outbox.ClaimDueAsync(Now, Claim, 10, default)).Attempt);

        Assert.Equal(new JobWebhook(WebhookState.Pending, 1, null, null, null), (await Store.GetAsync(job.Id, default))!.Webhook);
    }

    [Fact]
    public async Task ClaimDueAsync_ManyDue_OldestFirstUpToMax()
    {
        var jobs = new List<Job>();
        for (var i = 0; i < 5; i++)
        {
            jobs.Add(await FinishedAsync(NewJob()));
        }

        var first = await Outbox.ClaimDueAsync(Now, Claim, 3, default);
        var rest = await Outbox.ClaimDueAsync(Now, Claim, 3, default);

        Assert.Equal(jobs.Take(3).Select(j => j.Id), first.Select(d => d.JobId));
        Assert.Equal(jobs.Skip(3).Select(j => j.Id), rest.Select(d => d.JobId));
    }

    [Fact]
    public async Task RecordAsync_FailedAttempt_IsDueAgainAtItsNextAttemptAndTheJobShowsIt()
    {
        var job = await FinishedAsync(NewJob());
        Assert.Single(await Outbox.ClaimDueAsync(Now, Claim, 10, default));
        var failed = new JobWebhook(WebhookState.Pending, 1, 500, "the receiver answered 500", null);

        Assert.True(await Outbox.RecordAsync(job.Id, new WebhookOutcome(failed, Now.AddSeconds(30)), default));

        Assert.Equal(failed, (await Store.GetAsync(job.Id, default))!.Webhook);
        Assert.Empty(await Outbox.ClaimDueAsync(Now.AddSeconds(29), Claim, 10, default));
        var again = Assert.Single(await Outbox.ClaimDueAsync(Now.AddSeconds(30), Claim, 10, default));
        Assert.Equal(2, again.Attempt);
        Assert.Equal(job.Callback!.DeliveryId, again.DeliveryId);
    }

    [Fact]
    public async Task RecordAsync_AfterRestart_PendingDeliveryIsStillDue()
    {
        var job = await FinishedAsync(NewJob());
        Assert.Single(await Outbox.ClaimDueAsync(Now, Claim, 10, default));
        await Outbox.RecordAsync(job.Id, new WebhookOutcome(new JobWebhook(WebhookState.Pending, 1, null, "timeout", null), Now.AddSeconds(30)), default);

        var (store, outbox) = await OpenInitializedAsync();

        var again = Assert.Single(await outbox.ClaimDueAsync(Now.AddSeconds(30), Claim, 10, default));
        Assert.Equal((job.Id, 2), (again.JobId, again.Attempt));
        Assert.Equal(2, (await store.GetAsync(job.Id, default))!.Webhook!.Attempts); // the attempt under way counts
    }

    [Theory]
    [InlineData(WebhookState.Delivered)]
    [InlineData(WebhookState.Failed)]
    public async Task RecordAsync_DeliveredOrGivenUp_IsNeverClaimedAgainAndTheJobShowsIt(WebhookState state)
    {
        var job = await FinishedAsync(NewJob());
        Assert.Single(await Outbox.ClaimDueAsync(Now, Claim, 10, default));
        Assert.Equal(WebhookState.Pending, (await Store.GetAsync(job.Id, default))!.Webhook!.State); // read (and not kept) while pending
        var final = state == WebhookState.Delivered
            ? new JobWebhook(state, 2, 200, null, Now.AddSeconds(1))
            : new JobWebhook(state, 6, 503, "the receiver answered 503", null);

        Assert.True(await Outbox.RecordAsync(job.Id, new WebhookOutcome(final, null), default));

        Assert.Empty(await Outbox.ClaimDueAsync(Now.AddDays(1), Claim, 10, default));
        Assert.Equal(final, (await Store.GetAsync(job.Id, default))!.Webhook);
        Assert.Equal(final, (await Store.GetAsync(job.Id, default))!.Webhook);
        Assert.False(await Outbox.RecordAsync(job.Id, new WebhookOutcome(JobWebhook.New, null), default)); // no longer pending
    }

    [Fact]
    public async Task DeleteIfTerminalAsync_JobWithPendingDelivery_RemovesTheDelivery()
    {
        var job = await FinishedAsync(NewJob());

        Assert.True(await Store.DeleteIfTerminalAsync(job.Id, default));

        Assert.Empty(await Outbox.ClaimDueAsync(Now.AddDays(1), Claim, 10, default));
        Assert.False(await Outbox.RecordAsync(job.Id, new WebhookOutcome(new JobWebhook(WebhookState.Delivered, 1, 200, null, Now), null), default));
    }
}
