using System.Collections.Concurrent;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Berth.Server.Storage.Postgres;
using Berth.Server.Tests.Storage;
using Berth.Server.Tests.Storage.Postgres;
using Berth.Server.Webhooks;

namespace Berth.Server.Tests.Webhooks;

/// <summary>The outbox contract on a database of its own in the test cluster, and what only a shared store needs: servers claiming at once.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresWebhookOutboxTests(PostgresFixture fixture) : WebhookOutboxContract
{
    private TestDatabase _db = null!;

    public override async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync(fixture.Cluster);
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync() => await _db.DisposeAsync();

    protected override (IJobStore Store, IWebhookOutbox Outbox) Open()
    {
        var database = _db.Open();
        return (new PostgresJobStore(database), new PostgresWebhookOutbox(database));
    }

    [Fact]
    public async Task ClaimDueAsync_FourServersAtOnce_NeverClaimTheSameDeliveryTwice()
    {
        const int jobs = 60;
        for (var i = 0; i < jobs; i++)
        {
            await FinishedAsync(NewJob());
        }
        var servers = new List<IWebhookOutbox>();
        for (var i = 0; i < 4; i++)
        {
            servers.Add((await OpenInitializedAsync()).Outbox);
        }
        var claims = new ConcurrentBag<(int Server, string JobId)>();

        await Task.WhenAll(servers.Select((outbox, server) => Task.Run(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                foreach (var delivery in await outbox.ClaimDueAsync(Now, TimeSpan.FromSeconds(60), 2, default))
                {
                    claims.Add((server, delivery.JobId));
                }
            }
        })));

        var claimed = claims.Select(c => c.JobId).ToList();
        Assert.Equal(jobs, claimed.Count);
        Assert.Equal(jobs, claimed.Distinct().Count());
        Assert.True(claims.Select(c => c.Server).Distinct().Count() > 1, "the claims all went to one server; the test showed no concurrency");
    }

    [Fact]
    public async Task DispatchDueAsync_TwoServersDispatchingAtOnce_SendEachDeliveryOnce()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        var options = Microsoft.Extensions.Options.Options.Create(new Berth.Server.Configuration.WebhooksOptions
        {
            Secret = "two-servers-secret-0123",
            AllowedHosts = [$"127.0.0.1:{receiver.Port}"],
        });
        const int jobs = 20;
        for (var i = 0; i < jobs; i++)
        {
            await FinishedAsync(NewJob($"http://127.0.0.1:{receiver.Port}/hook"));
        }
        var senders = new List<WebhookSender>();
        var dispatchers = new List<WebhookDispatcher>();
        for (var i = 0; i < 2; i++)
        {
            var database = _db.Open();
            await database.InitializeAsync(default);
            var sender = new WebhookSender(options, new FixedResolver(), TimeProvider.System);
            senders.Add(sender);
            dispatchers.Add(new WebhookDispatcher(new PostgresWebhookOutbox(database), new PostgresJobStore(database), sender, options,
                TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<WebhookDispatcher>.Instance));
        }

        try
        {
            await Task.WhenAll(dispatchers.Select(d => Task.Run(async () =>
            {
                while (await d.DispatchDueAsync(default) > 0)
                {
                }
            })));
        }
        finally
        {
            senders.ForEach(s => s.Dispose());
        }

        Assert.Equal(jobs, receiver.Received.Count);
        Assert.Equal(jobs, receiver.Received.Select(h => h.Headers["X-Berth-Delivery"]).Distinct().Count());
        Assert.Empty(await Outbox.ClaimDueAsync(TimeProvider.System.GetUtcNow().AddDays(1), TimeSpan.FromSeconds(60), 100, default));
    }

    [Fact]
    public async Task InitializeAsync_Step2_AddsThePendingIndexThatClaimsUse()
    {
        var indexes = await _db.ColumnAsync<string>("SELECT indexname FROM pg_indexes WHERE tablename = 'jobs'");

        Assert.Contains("jobs_webhook_pending", indexes);
        Assert.Equal(PostgresSchema.Steps.Count, await _db.ScalarAsync<int>("SELECT max(version) FROM berth_schema"));
    }
}
