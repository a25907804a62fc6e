using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Storage;

/// <summary>The store contract on a real SQLite file in a temporary directory, and what only SQLite has: its schema and plans.</summary>
public sealed class SqliteJobStoreTests : JobStoreContract, IDisposable
{
    private readonly BerthOptions _options = new() { DataRoot = Directory.CreateTempSubdirectory("berth-store-").FullName };

    protected override IJobStore OpenStore() => new SqliteJobStore(Options.Create(_options));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools(); // closes this test's idle pooled connections (others reopen theirs on demand)
        Directory.Delete(_options.DataRoot, recursive: true);
    }

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
    public async Task ListSql_AnyFilters_ReadsAnIndexRangeInOrderWithoutSorting(bool byOwner, bool byStatus, bool afterCursor)
    {
        var plan = await QueryPlanAsync(SqliteJobStore.ListSql(byOwner, byStatus, afterCursor));

        Assert.DoesNotContain(plan, step => step.Contains("TEMP B-TREE", StringComparison.Ordinal));
        if (byOwner || byStatus || afterCursor)
        {
            // A SCAN walks every row; a SEARCH reads only the range the filters name.
            Assert.Contains(plan, step => step.StartsWith("SEARCH jobs USING", StringComparison.Ordinal));
            Assert.DoesNotContain(plan, step => step.StartsWith("SCAN", StringComparison.Ordinal));
        }
        var index = (byOwner, byStatus) switch
        {
            (true, true) => "INDEX jobs_owner_status_seq",
            (true, false) => "INDEX jobs_owner_seq",
            (false, true) => "INDEX jobs_status_seq",
            _ => afterCursor ? "INTEGER PRIMARY KEY" : "SCAN jobs",
        };
        Assert.Contains(plan, step => step.Contains(index, StringComparison.Ordinal) && !step.Contains("COVERING INDEX sqlite_autoindex", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InitializeAsync_DatabaseFromBeforeTheOwnerStatusIndex_AddsItAndKeepsEveryJob()
    {
        var running = await AddAsync(JobStatus.Running, "ann");
        var failed = await AddAsync(JobStatus.Failed, "ann");
        await ExecuteAsync("DROP INDEX jobs_owner_status_seq"); // the schema the previous release made
        Assert.DoesNotContain("jobs_owner_status_seq", await IndexesAsync());

        var upgraded = await OpenInitializedAsync();

        Assert.Equal(["jobs_owner_seq", "jobs_owner_status_seq", "jobs_status_seq", "jobs_webhook_pending"], (await IndexesAsync()).Where(i => i.StartsWith("jobs_", StringComparison.Ordinal)).Order());
        Assert.Equal(new[] { failed, running }.Select(Json), (await upgraded.ListAsync(null, null, 10, null, default)).Select(Json));
        Assert.Equal([failed.Id], (await upgraded.ListAsync("ann", JobStatus.Failed, 10, null, default)).Select(j => j.Id));
    }

    [Fact]
    public async Task TryEnqueueAsync_ManySubmissionsAndNothingElse_WalIsCheckpointed()
    {
        // Each enqueue writes about six pages; SQLite checkpoints once the WAL holds 1,000, then starts it over.
        for (var i = 0; i < 400; i++)
        {
            await EnqueueAsync(cap: 1000);
        }

        var wal = new FileInfo(_options.DatabasePath + "-wal");
        Assert.True(wal.Exists);
        Assert.InRange(wal.Length, 1, 1100 * 4120); // frames of 4 KiB pages and a 24-byte header each
        Assert.Equal(400, await Store.CountQueuedAsync(default));
    }

    private async Task<List<string>> QueryPlanAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var name in new[] { "@owner", "@status", "@after", "@limit" })
        {
            command.Parameters.AddWithValue(name, name == "@limit" ? 21 : "x");
        }
        var steps = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            steps.Add(reader.GetString(3));
        }
        return steps;
    }

    private async Task<List<string>> IndexesAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM pragma_index_list('jobs')";
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection($"Data Source={_options.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }
}
