using System.Text.Json;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Berth.Server.Storage.Postgres;
using Npgsql;

namespace Berth.Server.Tests.Storage.Postgres;

/// <summary>The store contract on a database of its own in the test cluster, and what only PostgreSQL has: its plans, the schema lock, restarts.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresJobStoreTests(PostgresFixture fixture) : JobStoreContract
{
    private TestDatabase _db = null!;

    public override async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync(fixture.Cluster);
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync() => await _db.DisposeAsync();

    protected override IJobStore OpenStore() => new PostgresJobStore(_db.Open());

    public static TheoryData<bool, bool, bool> Filters()
    {
        var data = new TheoryData<bool, bool, bool>();
        foreach (var owner in new[] { false, true })
        {
            foreach (var status in new[] { false, true })
            {
                foreach (var after in new[] { false, true })
                {
                    data.Add(owner, status, after);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task ListCommand_AnyFiltersOn50000Jobs_ReadsAFewPagesOfIndexRangesNeverTheTable(bool byOwner, bool byStatus, bool afterCursor)
    {
        await SeedAsync(50_000);
        var tablePages = await _db.ScalarAsync<long>("SELECT pg_relation_size('jobs') / current_setting('block_size')::bigint");
        // A common owner and status; an owner with only 50 jobs, all old, and a status no job has; an owner with a
        // tenth of the jobs, all old (walking the jobs newest first and filtering would read nearly all of them).
        foreach (var (owner, status) in new[] { ("team-3", JobStatus.Failed), ("rare", JobStatus.Scanning), ("quiet", JobStatus.Failed) })
        {
            await using var command = PostgresJobStore.ListCommand(null, byOwner ? owner : null, byStatus ? status : null, 21, afterCursor ? "job-25000" : null);
            var (plan, pages) = await AnalyzeAsync(command);

            Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
            Assert.Contains("Index", plan, StringComparison.Ordinal);
            Assert.True(pages <= 40, $"{owner}/{status}: {pages} pages of {tablePages} read: {plan}");
        }
        Assert.True(tablePages > 400, $"the table has {tablePages} pages");
    }

    [Fact]
    public async Task ListCommand_NoFilter_ReadsTheNewestJobsFromTheOnlyIndexItCanUse()
    {
        await SeedAsync(50_000);

        await using var first = PostgresJobStore.ListCommand(null, null, null, 21, null);
        await using var deep = PostgresJobStore.ListCommand(null, null, null, 21, "job-25000");

        Assert.Contains("Index Scan Backward using jobs_seq on jobs", (await AnalyzeAsync(first)).Plan, StringComparison.Ordinal);
        Assert.Contains("Index Scan Backward using jobs_seq on jobs", (await AnalyzeAsync(deep)).Plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitializeAsync_ManyServersAtOnceOnAnEmptyDatabase_AppliesEachStepOnce()
    {
        await using var empty = await TestDatabase.CreateAsync(fixture.Cluster);
        var servers = Enumerable.Range(0, 8).Select(_ => empty.Open()).ToList();

        await Task.WhenAll(servers.Select(server => Task.Run(() => server.InitializeAsync(default))));

        Assert.Equal(Enumerable.Range(1, PostgresSchema.Steps.Count), await empty.ColumnAsync<int>("SELECT version FROM berth_schema ORDER BY version"));
        Assert.NotNull(await new PostgresJobStore(servers[0]).TryEnqueueAsync(NewJob(), 10, default));
    }

    [Fact]
    public async Task TryEnqueueAsync_ManyAtOnceFromTwoServersAgainstACap_ExactlyCapAreStored()
    {
        const int Cap = 7;
        var servers = new[] { OpenStore(), OpenStore() };
        var jobs = Enumerable.Range(0, 40).Select(_ => NewJob()).ToList();

        var results = await Task.WhenAll(jobs.Select((job, i) => Task.Run(() => servers[i % 2].TryEnqueueAsync(job, Cap, default))));

        Assert.Equal(Cap, results.Count(j => j is not null));
        Assert.Equal(Cap, await Store.CountQueuedAsync(default));
    }

    [Fact]
    public async Task TryEnqueueAsync_Accepted_NotifiesTheQueuedChannelOnceAndARefusalDoesNot()
    {
        await using var listener = await _db.OpenConnectionAsync();
        var notifications = new List<string>();
        listener.Notification += (_, e) => notifications.Add(e.Channel);
        await using (var listen = new NpgsqlCommand($"LISTEN {PostgresSchema.QueuedChannel}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        await EnqueueAsync(cap: 1);
        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Null(await Store.TryEnqueueAsync(NewJob(), 1, default));

        Assert.False(await listener.WaitAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal([PostgresSchema.QueuedChannel], notifications);
    }

    [Fact]
    public async Task TryEnqueueAsync_JobWithAnAgent_AgentIsStoredAndSaved()
    {
        var job = await Store.TryEnqueueAsync(NewJob() with { Agent = "node-1" }, 10, default);
        Assert.Equal("node-1", (await Store.GetAsync(job!.Id, default))?.Agent);

        await Store.SaveAsync(job with { Status = JobStatus.Building, Agent = "node-2" }, default);

        Assert.Equal("node-2", (await Store.GetAsync(job.Id, default))?.Agent);
        Assert.Equal(["node-2"], (await Store.ListAsync(null, null, 10, null, default)).Select(j => j.Agent));
    }

    [Fact]
    public async Task AnyCall_AfterAnImmediateRestartWithEveryPooledConnectionBroken_SucceedsOnAFreshConnection()
    {
        var job = await EnqueueAsync();
        // Several connections in the pool, all of which the restart breaks.
        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => Store.ListAsync(null, null, 10, null, default))));

        await _db.CrashAndRestartAsync(fixture.Cluster);

        Assert.Equal(job.Id, (await Store.GetAsync(job.Id, default))?.Id);
        Assert.NotNull(await Store.TryEnqueueAsync(NewJob(), 10, default));
        Assert.Equal(2, await Store.CountQueuedAsync(default));
        await Store.CheckWritableAsync(default);
    }

    [Fact]
    public async Task AnyCall_WhileTheServerIsDown_ThrowsStoreUnavailableAndWorksOnceItIsBack()
    {
        var job = await EnqueueAsync();
        await _db.ExecuteAsync("CHECKPOINT");
        await fixture.Cluster.StopAsync();
        try
        {
            var read = await Assert.ThrowsAsync<StoreUnavailableException>(() => Store.GetAsync(job.Id, default));
            var write = await Assert.ThrowsAsync<StoreUnavailableException>(() => Store.TryEnqueueAsync(NewJob(), 10, default));
            Assert.IsAssignableFrom<NpgsqlException>(read.InnerException);
            Assert.IsAssignableFrom<NpgsqlException>(write.InnerException);
        }
        finally
        {
            await fixture.Cluster.StartServerAsync();
        }

        Assert.Equal(job.Id, (await Store.GetAsync(job.Id, default))?.Id);
        Assert.NotNull(await Store.TryEnqueueAsync(NewJob(), 10, default));
    }

    [Fact]
    public async Task AnyCall_StatementError_IsNotTurnedIntoStoreUnavailable()
    {
        var job = await EnqueueAsync();

        // The same id twice breaks the unique index: a fault of the statement, not of the connection (no 503, no retry).
        var e = await Assert.ThrowsAsync<PostgresException>(() => Store.TryEnqueueAsync(job with { Sequence = 0 }, 10, default));

        Assert.Equal(PostgresErrorCodes.UniqueViolation, e.SqlState);
        Assert.Equal(1, await Store.CountQueuedAsync(default));
    }

    /// <summary>
    /// Jobs like a server's after a while: ten owners, one with 50 old jobs only, and one with a tenth of all jobs, all
    /// old (a filter on it must not walk the newer jobs); nearly all finished.
    /// </summary>
    private async Task SeedAsync(int count)
    {
        await _db.ExecuteAsync($$"""
            INSERT INTO jobs (id, status, limits, created_at, stages, lint, owner)
            SELECT 'job-' || i,
                   CASE WHEN i % 10 = 0 THEN 'failed' WHEN i % 33 = 0 THEN 'canceled' ELSE 'succeeded' END,
                   '{}', now(), '[]', '[]',
                   CASE WHEN i <= 50 THEN 'rare' WHEN i <= {{count / 10}} THEN 'quiet' ELSE 'team-' || (i % 10) END
            FROM generate_series(1, {{count}}) AS i;
            ANALYZE jobs;
            """);
    }

    /// <summary>The query's plan as run, and the pages (8 KiB blocks of table and index) it read.</summary>
    private async Task<(string Plan, long Pages)> AnalyzeAsync(NpgsqlCommand command)
    {
        await using var connection = await _db.OpenConnectionAsync();
        command.Connection = connection;
        var sql = command.CommandText;
        command.CommandText = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql;
        using var json = JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!);
        var root = json.RootElement[0].GetProperty("Plan");
        command.CommandText = "EXPLAIN " + sql;
        var lines = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                lines.Add(reader.GetString(0));
            }
        }
        return (string.Join('\n', lines), root.GetProperty("Shared Hit Blocks").GetInt64() + root.GetProperty("Shared Read Blocks").GetInt64());
    }
}
