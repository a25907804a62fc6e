using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Berth.Scanner.Reports;
using Berth.Server.Configuration;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Berth.Server.Storage.Postgres;
using Berth.Tests.Shared;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

// Job store reads with many stored jobs: the list queries the API makes (page of 20, asked as 21 to learn whether a
// next page exists) and GetAsync. Queries take turns, R rounds after a warm-up; median, p95 and p99 per query, in
// milliseconds.
//
//   dotnet run -c Release --project bench/Berth.Store.Bench -- [jobs=100000] [rounds=200] [data-root]
//
// Seeds N jobs into a SQLite job store through the real store API (TryEnqueueAsync, one job per call, each stored with
// its final status, stages, lint findings and scan summary), then times the reads. With a data root that already holds
// berth.db (say, seeded by an earlier commit's store), nothing is seeded: the store opens it as a server upgraded in
// place would (InitializeAsync migrates it; timed) and the same queries run on it.
//
//   dotnet run -c Release --project bench/Berth.Store.Bench -- --postgres [jobs=1000000] [rounds=200]
//
// Starts a throwaway PostgreSQL cluster of its own (tests/Shared/PostgresCluster.cs: needs root and Debian's postgresql)
// and seeds the same N jobs into a PostgreSQL store (COPY, then VACUUM ANALYZE as autovacuum would) and into a new
// SQLite store (one transaction), then times each query on both stores in turn, round after round, so that both see
// the same load. Both stores are removed at the end.
var postgres = args.Contains("--postgres");
var positional = args.Where(a => a != "--postgres").ToArray();
var count = int.TryParse(positional.ElementAtOrDefault(0), out var c) ? c : postgres ? 1_000_000 : 100_000;
var rounds = int.TryParse(positional.ElementAtOrDefault(1), out var r) ? r : 200;
var root = positional.ElementAtOrDefault(2) ?? Directory.CreateTempSubdirectory("berth-store-bench-").FullName;

var options = Options.Create(new BerthOptions { DataRoot = root });
var existing = File.Exists(options.Value.DatabasePath);
var sqlite = new SqliteJobStore(options);
var clock = Stopwatch.StartNew();
await sqlite.InitializeAsync(CancellationToken.None);
Console.WriteLine($"{options.Value.DatabasePath}: {(existing ? "existing database" : "new database")}, InitializeAsync {clock.Elapsed.TotalMilliseconds:0} ms");

if (!postgres)
{
    if (!existing)
    {
        clock.Restart();
        var i = 0;
        foreach (var job in Seed.Jobs(count))
        {
            var stored = await sqlite.TryEnqueueAsync(job, int.MaxValue, CancellationToken.None) ?? throw new InvalidOperationException("the store refused a job");
            if (++i % 10_000 == 0)
            {
                Console.WriteLine($"  seeded {i:N0} jobs in {clock.Elapsed.TotalSeconds:0.0} s (last seq {stored.Sequence})");
            }
        }
        Console.WriteLine($"seeded {count:N0} jobs through TryEnqueueAsync in {clock.Elapsed.TotalSeconds:0.0} s");
    }
    Console.WriteLine($"berth.db {Megabytes(options.Value.DatabasePath)}, berth.db-wal {Megabytes(options.Value.DatabasePath + "-wal")}");
    var ids = await SqliteIdsAsync(options.Value.DatabasePath);
    Report(await Bench.RunAsync([("SQLite", sqlite)], ids, rounds), ids.Count, rounds);
    Console.WriteLine($"database left in {root}");
    return;
}

if (existing)
{
    throw new InvalidOperationException($"--postgres seeds a new SQLite store beside the PostgreSQL one; {root} already holds one");
}
await using var cluster = await PostgresCluster.StartAsync();
var connectionString = await cluster.CreateDatabaseAsync();
await using var database = new PostgresDatabase(Options.Create(new StoreOptions { Provider = "postgres", ConnectionString = connectionString }));
var pg = new PostgresJobStore(database);
await pg.InitializeAsync(CancellationToken.None);
try
{
    clock.Restart();
    var copied = await Seed.CopyIntoPostgresAsync(connectionString, count);
    Console.WriteLine($"PostgreSQL: {copied:N0} jobs copied in {clock.Elapsed.TotalSeconds:0.0} s");
    clock.Restart();
    await using (var connection = new NpgsqlConnection(connectionString))
    {
        await connection.OpenAsync();
        await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE jobs", connection) { CommandTimeout = 0 };
        await vacuum.ExecuteNonQueryAsync();
        await using var size = new NpgsqlCommand("SELECT pg_size_pretty(pg_table_size('jobs')), pg_size_pretty(pg_indexes_size('jobs'))", connection);
        await using var reader = await size.ExecuteReaderAsync();
        await reader.ReadAsync();
        Console.WriteLine($"PostgreSQL: VACUUM ANALYZE {clock.Elapsed.TotalSeconds:0.0} s; table {reader.GetString(0)}, indexes {reader.GetString(1)}");
    }
    clock.Restart();
    await Seed.InsertIntoSqliteAsync(options.Value.DatabasePath, count);
    Console.WriteLine($"SQLite: {count:N0} jobs inserted in one transaction in {clock.Elapsed.TotalSeconds:0.0} s; berth.db {Megabytes(options.Value.DatabasePath)}");

    var ids = Seed.Jobs(count).Select(j => j.Id).ToList();
    Report(await Bench.RunAsync([("SQLite", sqlite), ("PostgreSQL", pg)], ids, rounds), ids.Count, rounds);
}
finally
{
    SqliteConnection.ClearAllPools();
    Directory.Delete(root, recursive: true);
}

static void Report(IReadOnlyList<Bench.Result> results, int total, int rounds)
{
    Console.WriteLine();
    Console.WriteLine($"{total:N0} jobs, {rounds} rounds, milliseconds");
    Console.WriteLine($"| {"query",-45} | {"store",-10} | rows | median |    p95 |    p99 |");
    Console.WriteLine($"|{new string('-', 47)}|{new string('-', 12)}|------|--------|--------|--------|");
    foreach (var result in results)
    {
        var sorted = result.Times.Order().ToArray();
        Console.WriteLine($"| {result.Query,-45} | {result.Store,-10} | {result.Rows,4} | {Percentile(sorted, 0.50),6:0.00} | {Percentile(sorted, 0.95),6:0.00} | {Percentile(sorted, 0.99),6:0.00} |");
    }
}

static async Task<List<string>> SqliteIdsAsync(string path)
{
    await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly");
    await connection.OpenAsync();
    var ids = new List<string>();
    await using var command = connection.CreateCommand();
    command.CommandText = "SELECT id FROM jobs ORDER BY seq";
    await using var reader = await command.ExecuteReaderAsync();
    while (await reader.ReadAsync())
    {
        ids.Add(reader.GetString(0));
    }
    return ids;
}

static string Megabytes(string path) => File.Exists(path) ? $"{new FileInfo(path).Length / 1e6:0.0} MB" : "absent";

static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

internal static class Bench
{
    private const int Page = 21;

    public sealed record Result(string Query, string Store, int Rows, List<double> Times);

    /// <summary>
    /// Every query on every store, in turn, <paramref name="rounds"/> times after a warm-up. The cursor sits 90% down the
    /// list (10% of the jobs are older than it); GetAsync takes turns over 64 ids spread over the table.
    /// </summary>
    public static async Task<IReadOnlyList<Result>> RunAsync(IReadOnlyList<(string Name, IJobStore Store)> stores, List<string> ids, int rounds)
    {
        var deep = ids[ids.Count / 10];
        var depth = ids.Count - ids.Count / 10 - 1;
        var spread = Enumerable.Range(0, 64).Select(i => ids[(int)((long)i * 7919 % ids.Count)]).ToList();
        var queries = new (string Name, Func<IJobStore, int, Task<int>> Run)[]
        {
            ("first page", async (s, _) => (await s.ListAsync(null, null, Page, null, default)).Count),
            ($"cursor page, {depth:N0} jobs deep", async (s, _) => (await s.ListAsync(null, null, Page, deep, default)).Count),
            ("status filter matching nothing (scanning)", async (s, _) => (await s.ListAsync(null, JobStatus.Scanning, Page, null, default)).Count),
            ("status filter (failed, ~10% of jobs)", async (s, _) => (await s.ListAsync(null, JobStatus.Failed, Page, null, default)).Count),
            ("owner filter (team-03, ~10% of jobs)", async (s, _) => (await s.ListAsync("team-03", null, Page, null, default)).Count),
            ("owner filter, cursor deep", async (s, _) => (await s.ListAsync("team-03", null, Page, deep, default)).Count),
            ($"owner filter, owner with {Seed.RareOwnerJobs} old jobs", async (s, _) => (await s.ListAsync("rare", null, Page, null, default)).Count),
            ("owner filter, owner of 10% of jobs, all old", async (s, _) => (await s.ListAsync("quiet", null, Page, null, default)).Count),
            ("owner + status filter (team-03, failed)", async (s, _) => (await s.ListAsync("team-03", JobStatus.Failed, Page, null, default)).Count),
            ("owner + status filter matching nothing", async (s, _) => (await s.ListAsync("team-03", JobStatus.Scanning, Page, null, default)).Count),
            ("first page of 101 (the API's largest)", async (s, _) => (await s.ListAsync(null, null, 101, null, default)).Count),
            ("GetAsync by id", async (s, i) => (await s.GetAsync(spread[i % spread.Count], default)) is null ? 0 : 1),
        };

        // Warm-up, not measured: at least 50 rounds and 5 s, so that the JIT has finished its tiers (fast queries would
        // otherwise be timed in unoptimized code while slow ones, run long enough, would not).
        var warm = Stopwatch.StartNew();
        for (var round = 0; round < 50 || warm.Elapsed < TimeSpan.FromSeconds(5); round++)
        {
            foreach (var query in queries)
            {
                foreach (var (_, store) in stores)
                {
                    await query.Run(store, round);
                }
            }
        }

        var results = queries.SelectMany(q => stores.Select(s => new Result(q.Name, s.Name, 0, []))).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var q = 0; q < queries.Length; q++)
            {
                for (var s = 0; s < stores.Count; s++)
                {
                    var watch = Stopwatch.StartNew();
                    var rows = await queries[q].Run(stores[s].Store, round);
                    watch.Stop();
                    var at = q * stores.Count + s;
                    results[at] = results[at] with { Rows = rows };
                    results[at].Times.Add(watch.Elapsed.TotalMilliseconds);
                }
            }
        }
        return results;
    }
}

/// <summary>
/// The seeded jobs: the statuses of a server that has run a while (nearly all finished, a few waiting or running at
/// the end), ten owners, one owner with only 50 jobs among the oldest, and one ("quiet") who submitted a tenth of the
/// jobs (from 5% to 15% of the way) and then stopped: filters on those two must not walk the newer jobs. The same N
/// jobs every time (ids too).
/// </summary>
internal static class Seed
{
    public const int RareOwnerJobs = 50;
    private const int Owners = 10;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static IEnumerable<Job> Jobs(int count)
    {
        var random = new Random(42);
        for (var i = 0; i < count; i++)
        {
            var status = i >= count - 20 ? (i % 2 == 0 ? JobStatus.Queued : JobStatus.Running)
                : random.Next(100) switch { < 85 => JobStatus.Succeeded, < 95 => JobStatus.Failed, _ => JobStatus.Canceled };
            var owner = i < RareOwnerJobs ? "rare" : i >= count / 20 && i < count / 20 + count / 10 ? "quiet" : $"team-{random.Next(Owners):00}";
            yield return Job(i, status, owner);
        }
    }

    private static Job Job(int i, JobStatus status, string owner)
    {
        var created = Start.AddSeconds(i * 30);
        var started = status == JobStatus.Queued ? (DateTimeOffset?)null : created.AddSeconds(2);
        var finished = status.IsTerminal() ? created.AddSeconds(25) : (DateTimeOffset?)null;
        var stageStatus = status switch
        {
            JobStatus.Succeeded => StageStatus.Succeeded,
            JobStatus.Queued => StageStatus.Pending,
            JobStatus.Canceled => StageStatus.Canceled,
            JobStatus.Running => StageStatus.Running,
            _ => StageStatus.Failed,
        };
        var stages = new[] { "lint", "build", "scan", "run", "collect" }
            .Select(name => new StageState(name, stageStatus, started, finished)).ToList();
        // 32 hex digits like the server's ids (time first, as in a version 7 GUID), the same on every run.
        var id = created.ToUnixTimeMilliseconds().ToString("x12", CultureInfo.InvariantCulture) + ((long)i * 2654435761L).ToString("x20", CultureInfo.InvariantCulture);
        return new Job(
            Id: id,
            Sequence: 0,
            Name: $"job {i}",
            Status: status,
            Limits: new JobLimits(300, 512, 1.0, 256),
            CorrelationId: id[..16],
            CreatedAt: created,
            StartedAt: started,
            FinishedAt: finished,
            Performance: status == JobStatus.Succeeded ? 1000.0 + i % 97 : null,
            Failure: status == JobStatus.Failed ? new JobFailure("nonzero_exit", "the job exited with code 1") : null,
            Stages: stages,
            ImageId: status == JobStatus.Queued ? null : "sha256:" + new string('a', 64),
            ExitCode: status switch { JobStatus.Succeeded => 0, JobStatus.Failed => 1, _ => null },
            Lint: [new LintFinding("DL3007", 1, LintSeverity.Warning, "pin the base image to a version, not latest")],
            Attempts: status == JobStatus.Queued ? 0 : 1,
            Scan: status is JobStatus.Succeeded or JobStatus.Failed
                ? new ScanSummary(ScanStatus.Passed, 96, new SeverityCounts(0, 1, 4, 12, 3), 2.5, [], new ScanDatabaseSummary("bundled", 18_071, 2.5))
                : null,
            Owner: owner);
    }

    /// <summary>COPY in the binary format, the columns as <see cref="PostgresJobStore"/> writes them.</summary>
    public static async Task<ulong> CopyIntoPostgresAsync(string connectionString, int count)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY jobs (id, name, status, limits, correlation_id, created_at, started_at, finished_at, performance, failure_reason, failure_message, " +
            "stages, image_id, exit_code, lint, attempts, scan, owner, cache, cache_hit, agent) FROM STDIN (FORMAT BINARY)");
        foreach (var job in Jobs(count))
        {
            await copy.StartRowAsync();
            await copy.WriteAsync(job.Id, NpgsqlDbType.Text);
            await WriteTextAsync(copy, job.Name);
            await copy.WriteAsync(job.Status.ToWire(), NpgsqlDbType.Text);
            await copy.WriteAsync(JsonSerializer.Serialize(job.Limits, JobJson.Options), NpgsqlDbType.Text);
            await WriteTextAsync(copy, job.CorrelationId);
            await copy.WriteAsync(job.CreatedAt, NpgsqlDbType.TimestampTz);
            await WriteAsync(copy, job.StartedAt, NpgsqlDbType.TimestampTz);
            await WriteAsync(copy, job.FinishedAt, NpgsqlDbType.TimestampTz);
            await WriteAsync(copy, job.Performance, NpgsqlDbType.Double);
            await WriteTextAsync(copy, job.Failure?.Reason);
            await WriteTextAsync(copy, job.Failure?.Message);
            await copy.WriteAsync(JsonSerializer.Serialize(job.Stages, JobJson.Options), NpgsqlDbType.Text);
            await WriteTextAsync(copy, job.ImageId);
            await WriteAsync(copy, job.ExitCode, NpgsqlDbType.Bigint);
            await copy.WriteAsync(JsonSerializer.Serialize(job.Lint, JobJson.Options), NpgsqlDbType.Text);
            await copy.WriteAsync(job.Attempts, NpgsqlDbType.Integer);
            await WriteTextAsync(copy, job.Scan is null ? null : JsonSerializer.Serialize(job.Scan, JobJson.Options));
            await copy.WriteAsync(job.Owner, NpgsqlDbType.Text);
            await copy.WriteAsync(job.Cache, NpgsqlDbType.Boolean);
            await copy.WriteAsync(job.CacheHit, NpgsqlDbType.Boolean);
            await WriteTextAsync(copy, job.Agent);
        }
        return await copy.CompleteAsync();
    }

    /// <summary>One transaction of inserts, the columns as <see cref="SqliteJobStore"/> writes them.</summary>
    public static async Task InsertIntoSqliteAsync(string path, int count)
    {
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO jobs (id, name, status, limits, correlation_id, created_at, started_at, finished_at, performance,
                              failure_reason, failure_message, stages, image_id, exit_code, lint, attempts, scan, owner, cache, cache_hit)
            VALUES ($id, $name, $status, $limits, $correlation_id, $created_at, $started_at, $finished_at, $performance,
                    $failure_reason, $failure_message, $stages, $image_id, $exit_code, $lint, $attempts, $scan, $owner, $cache, $cache_hit)
            """;
        var names = new[]
        {
            "$id", "$name", "$status", "$limits", "$correlation_id", "$created_at", "$started_at", "$finished_at", "$performance", "$failure_reason",
            "$failure_message", "$stages", "$image_id", "$exit_code", "$lint", "$attempts", "$scan", "$owner", "$cache", "$cache_hit",
        };
        var parameters = names.Select(name => command.Parameters.Add(new SqliteParameter { ParameterName = name })).ToArray();
        foreach (var job in Jobs(count))
        {
            object?[] values =
            [
                job.Id, job.Name, job.Status.ToWire(), JsonSerializer.Serialize(job.Limits, JobJson.Options), job.CorrelationId, Time(job.CreatedAt),
                Time(job.StartedAt), Time(job.FinishedAt), job.Performance, job.Failure?.Reason, job.Failure?.Message,
                JsonSerializer.Serialize(job.Stages, JobJson.Options), job.ImageId, job.ExitCode, JsonSerializer.Serialize(job.Lint, JobJson.Options),
                job.Attempts, job.Scan is null ? null : JsonSerializer.Serialize(job.Scan, JobJson.Options), job.Owner, job.Cache ? 1 : 0, job.CacheHit ? 1 : 0,
            ];
            for (var p = 0; p < values.Length; p++)
            {
                parameters[p].Value = values[p] ?? DBNull.Value;
            }
            await command.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    private static string? Time(DateTimeOffset? value) => value?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static Task WriteTextAsync(NpgsqlBinaryImporter copy, string? value) =>
        value is null ? copy.WriteNullAsync() : copy.WriteAsync(value, NpgsqlDbType.Text);

    private static Task WriteAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type)
        where T : struct =>
        value is { } present ? copy.WriteAsync(present, type) : copy.WriteNullAsync();
}
