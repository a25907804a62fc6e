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
    public async Task InitializeAsync_Step2_AddsThePendingIndexThatClaimsUse()
    {
        var indexes = await _db.ColumnAsync<string>("SELECT indexname FROM pg_indexes WHERE tablename = 'jobs'");

        Assert.Contains("jobs_webhook_pending", indexes);
        Assert.Equal(PostgresSchema.Steps.Count, await _db.ScalarAsync<int>("SELECT max(version) FROM berth_schema"));
    }
}
