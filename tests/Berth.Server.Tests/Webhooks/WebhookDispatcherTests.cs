using System.Text.Json;
using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Berth.Server.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Server.Tests.Webhooks;

/// <summary>The dispatcher over a real SQLite store and a real loopback receiver, its clock a <see cref="FakeTimeProvider"/>.</summary>
public sealed class WebhookDispatcherTests : IAsyncLifetime, IDisposable
{
    private const string Secret = "dispatcher-secret-0123";
    private readonly BerthOptions _berth = new() { DataRoot = Directory.CreateTempSubdirectory("berth-dispatch-").FullName };
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ListLogger _log = new();
    private LoopbackReceiver _receiver = null!;
    private SqliteJobStore _store = null!;
    private LoggerFactory _loggers = null!;

    public async Task InitializeAsync()
    {
        _loggers = new LoggerFactory([_log]);
        _receiver = await LoopbackReceiver.StartAsync();
        _store = new SqliteJobStore(Options.Create(_berth));
        await _store.InitializeAsync(default);
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_berth.DataRoot, recursive: true);
    }

    public void Dispose()
    {
        _loggers.Dispose();
        _log.Dispose();
    }

    private (WebhookDispatcher Dispatcher, WebhookSender Sender) Dispatcher(int maxAttempts = 5)
    {
        var options = Options.Create(new WebhooksOptions
        {
            Secret = Secret,
            AllowedHosts = [$"127.0.0.1:{_receiver.Port}"],
            MaxAttempts = maxAttempts,
            InitialBackoffSeconds = 10,
            MaxBackoffSeconds = 40,
        });
        var sender = new WebhookSender(options, new FixedResolver(), _time);
        return (new WebhookDispatcher(new SqliteWebhookOutbox(_store), _store, sender, options, _time, _loggers.CreateLogger<WebhookDispatcher>()), sender);
    }

    private async Task<Job> FinishedJobAsync()
    {
        var id = Guid.NewGuid().ToString("N");
        var job = new Job(id, 0, "bench", JobStatus.Queued, new JobLimits(60, 256, 1), null, _time.GetUtcNow(), null, null, null, null,
            [], null, null, [], 0, Webhook: JobWebhook.New)
        {
            Callback = new JobCallback($"http://127.0.0.1:{_receiver.Port}/hook?token=secret-token", "delivery-" + id),
        };
        var stored = await _store.TryEnqueueAsync(job, 100, default);
        await _store.SaveAsync(stored! with { Status = JobStatus.Succeeded, FinishedAt = _time.GetUtcNow(), Performance = 42 }, default);
        return stored;
    }

    [Fact]
    public async Task DispatchDueAsync_ReceiverAlwaysFails_RetriesOnTheBackoffScheduleThenGivesUp()
    {
        _receiver.Answer = _ => 503;
        var (dispatcher, sender) = Dispatcher(maxAttempts: 5);
        using var _ = sender;
        var job = await FinishedJobAsync();

        Assert.Equal(1, await dispatcher.DispatchDueAsync(default));
        // Waits after attempts 1-4: 10 × 2^(n-1) s, capped at 40 s.
        foreach (var wait in new[] { 10, 20, 40, 40 })
        {
            _time.Advance(TimeSpan.FromSeconds(wait - 1));
            Assert.Equal(0, await dispatcher.DispatchDueAsync(default));
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(1, await dispatcher.DispatchDueAsync(default));
        }
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await dispatcher.DispatchDueAsync(default));

        Assert.Equal(5, _receiver.Received.Count);
        Assert.All(_receiver.Received, hook => Assert.Equal(job.Callback!.DeliveryId, hook.Headers["X-Berth-Delivery"]));
        Assert.Equal(new JobWebhook(WebhookState.Failed, 5, 503, "the receiver answered 503", null), (await _store.GetAsync(job.Id, default))!.Webhook);
        Assert.Contains(_log.Lines, l => l.StartsWith("Error: ", StringComparison.Ordinal) && l.Contains("given up after 5 attempts", StringComparison.Ordinal));
        Assert.DoesNotContain(_log.Lines, l => l.Contains("secret-token", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DispatchDueAsync_FailsThenSucceeds_RecordsDeliveryAndPostsTheJobView()
    {
        _receiver.Answer = n => n == 1 ? 500 : 200;
        var (dispatcher, sender) = Dispatcher();
        using var _ = sender;
        var job = await FinishedJobAsync();

        await dispatcher.DispatchDueAsync(default);
        _time.Advance(TimeSpan.FromSeconds(10));
        var deliveredAt = _time.GetUtcNow();
        await dispatcher.DispatchDueAsync(default);

        Assert.Equal(new JobWebhook(WebhookState.Delivered, 2, 200, null, deliveredAt), (await _store.GetAsync(job.Id, default))!.Webhook);
        var last = _receiver.Received[^1];
        Assert.True(WebhookSignature.Verify(last.Body, Secret, last.Headers["X-Berth-Signature"]));
        var view = JsonDocument.Parse(last.Body).RootElement;
        Assert.Equal(job.Id, view.GetProperty("id").GetString());
        Assert.Equal("succeeded", view.GetProperty("status").GetString());
        Assert.Equal(42, view.GetProperty("performance").GetDouble());
        Assert.Equal(2, view.GetProperty("webhook").GetProperty("attempts").GetInt32()); // the view as it stood when sent: attempt 2 under way
        Assert.Equal(["1", "2"], _receiver.Received.Select(r => r.Headers["X-Berth-Attempt"]));
        Assert.DoesNotContain("secret-token", System.Text.Encoding.UTF8.GetString(last.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DispatchDueAsync_ServersStoppedMidAttemptUntilNoneIsLeft_GivesUpWithoutSending()
    {
        var (dispatcher, sender) = Dispatcher(maxAttempts: 2);
        using var _ = sender;
        var job = await FinishedJobAsync();
        var outbox = new SqliteWebhookOutbox(_store);
        foreach (var attempt in new[] { 1, 2 })
        {
            // A server claims the attempt and stops before recording it; its claim runs out.
            Assert.Equal(attempt, Assert.Single(await outbox.ClaimDueAsync(_time.GetUtcNow(), TimeSpan.FromSeconds(50), 8, default)).Attempt);
            _time.Advance(TimeSpan.FromSeconds(50));
        }

        Assert.Equal(1, await dispatcher.DispatchDueAsync(default));

        Assert.Empty(_receiver.Received);
        var webhook = (await _store.GetAsync(job.Id, default))!.Webhook!;
        Assert.Equal((WebhookState.Failed, 2), (webhook.State, webhook.Attempts));
        Assert.Contains("outcome is unknown", webhook.LastError, StringComparison.Ordinal);
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await dispatcher.DispatchDueAsync(default));
    }

    [Fact]
    public async Task DispatchDueAsync_ServerStopsMidAttempt_RecordsTheAttemptAndTheNextIsDueAtOnce()
    {
        var release = new TaskCompletionSource();
        _receiver.Hold = _ => release.Task; // the receiver never answers while the server runs
        var (dispatcher, sender) = Dispatcher();
        using var _ = sender;
        var job = await FinishedJobAsync();
        using var stopping = new CancellationTokenSource();
        try
        {
            var dispatching = dispatcher.DispatchDueAsync(stopping.Token);
            await _receiver.WaitForAsync(1);

            await stopping.CancelAsync();
            await dispatching;

            var webhook = (await _store.GetAsync(job.Id, default))!.Webhook!;
            Assert.Equal((WebhookState.Pending, 1, null), (webhook.State, webhook.Attempts, webhook.LastStatus));
            Assert.Contains("server stopped during the attempt", webhook.LastError, StringComparison.Ordinal);
            var next = Assert.Single(await new SqliteWebhookOutbox(_store).ClaimDueAsync(_time.GetUtcNow(), TimeSpan.FromSeconds(50), 8, default));
            Assert.Equal(2, next.Attempt); // due now: no wait for the stopped server's claim to run out
        }
        finally
        {
            release.SetResult();
        }
    }

    [Fact]
    public async Task DispatchDueAsync_JobDeletedBeforeItsAttempt_SendsNothing()
    {
        var (dispatcher, sender) = Dispatcher();
        using var _ = sender;
        var job = await FinishedJobAsync();
        Assert.True(await _store.DeleteIfTerminalAsync(job.Id, default));

        Assert.Equal(0, await dispatcher.DispatchDueAsync(default));
        Assert.Empty(_receiver.Received);
    }
}
