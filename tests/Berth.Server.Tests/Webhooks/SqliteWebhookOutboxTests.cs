using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Berth.Server.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Webhooks;

public sealed class SqliteWebhookOutboxTests : WebhookOutboxContract, IDisposable
{
    private readonly BerthOptions _options = new() { DataRoot = Directory.CreateTempSubdirectory("berth-outbox-").FullName };

    protected override (IJobStore Store, IWebhookOutbox Outbox) Open()
    {
        var store = new SqliteJobStore(Options.Create(_options));
        return (store, new SqliteWebhookOutbox(store));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_options.DataRoot, recursive: true);
    }

    [Fact]
    public async Task InitializeAsync_DatabaseOfAnEarlierVersion_GainsTheWebhookColumns()
    {
        // A jobs table as earlier versions made it (no webhook_* columns), with a job in it.
        await using (var connection = new SqliteConnection($"Data Source={_options.DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var drop = connection.CreateCommand();
            drop.CommandText = """
                DROP TABLE jobs;
                CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT, status TEXT NOT NULL,
                    limits TEXT NOT NULL, correlation_id TEXT, created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, performance REAL,
                    failure_reason TEXT, failure_message TEXT, stages TEXT NOT NULL, image_id TEXT, exit_code INTEGER, lint TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0);
                INSERT INTO jobs (id, status, limits, created_at, stages, lint)
                VALUES ('old', 'succeeded', '{"timeoutSeconds":60,"memoryMb":256,"cpus":1,"dataMb":64}', '2026-01-01T00:00:00.0000000Z', '[]', '[]');
                """;
            await drop.ExecuteNonQueryAsync();
        }

        var (store, outbox) = await OpenInitializedAsync();

        Assert.Null((await store.GetAsync("old", default))!.Webhook);
        Assert.Empty(await outbox.ClaimDueAsync(Now, TimeSpan.FromSeconds(60), 10, default));
        var job = await store.TryEnqueueAsync(NewJob(), 1000, default);
        Assert.Equal(JobWebhook.New, (await store.GetAsync(job!.Id, default))!.Webhook);
    }
}
