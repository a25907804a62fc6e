using System.Diagnostics;
using Berth.Scanner.Reports;
using Berth.Server.Configuration;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

// Seeds N jobs into a SQLite job store through the real store API (TryEnqueueAsync, one job per call, each
// stored with its final status, stages, lint findings and scan summary), then times the store's reads:
// the list queries the API makes (page of 20, asked as 21 to learn whether a next page exists) and GetAsync.
// Queries take turns, R rounds after a warm-up; median and p95 per query, in milliseconds.
//
//   dotnet run -c Release --project bench/Berth.Store.Bench -- [jobs=100000] [rounds=200] [data-root]
//
// With a data root that already holds berth.db (say, seeded by an earlier commit's store), nothing is
// seeded: the store opens it as a server upgraded in place would (InitializeAsync migrates it; timed) and
// the same queries run on it.
var count = int.TryParse(args.ElementAtOrDefault(0), out var c) ? c : 100_000;
var rounds = int.TryParse(args.ElementAtOrDefault(1), out var r) ? r : 200;
var root = args.ElementAtOrDefault(2) ?? Directory.CreateTempSubdirectory("berth-store-bench-").FullName;
const int Page = 21;
const int Owners = 10;
const int RareOwnerJobs = 50;

var options = Options.Create(new BerthOptions { DataRoot = root });
var existing = File.Exists(options.Value.DatabasePath);
var store = new SqliteJobStore(options);
var clock = Stopwatch.StartNew();
await store.InitializeAsync(CancellationToken.None);
Console.WriteLine($"{options.Value.DatabasePath}: {(existing ? "existing database" : "new database")}, InitializeAsync {clock.Elapsed.TotalMilliseconds:0} ms");

var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
if (!existing)
{
    // Statuses of a server that has run a while: nearly all finished, a few waiting or running at the end.
    var random = new Random(42);
    clock.Restart();
    for (var i = 0; i < count; i++)
    {
        var status = i >= count - 20 ? (i % 2 == 0 ? JobStatus.Queued : JobStatus.Running)
            : random.Next(100) switch { < 85 => JobStatus.Succeeded, < 95 => JobStatus.Failed, _ => JobStatus.Canceled };
        // One owner has only a few jobs, all among the oldest: a filter on it must not walk the whole table.
        var owner = i < RareOwnerJobs ? "rare" : $"team-{random.Next(Owners):00}";
        var stored = await store.TryEnqueueAsync(SeedJob(i, status, owner), int.MaxValue, CancellationToken.None)
            ?? throw new InvalidOperationException("the store refused a job");
        if (i % 10_000 == 9_999)
        {
            Console.WriteLine($"  seeded {i + 1:N0} jobs in {clock.Elapsed.TotalSeconds:0.0} s (last seq {stored.Sequence})");
        }
    }
    Console.WriteLine($"seeded {count:N0} jobs through TryEnqueueAsync in {clock.Elapsed.TotalSeconds:0.0} s");
}
Console.WriteLine($"berth.db {Megabytes(options.Value.DatabasePath)}, berth.db-wal {Megabytes(options.Value.DatabasePath + "-wal")}");

// Setup only, not measured: ids picked straight from the file. The cursor sits 90% down the list (10% of
// the jobs are older than it); GetAsync takes turns over 64 ids spread over the table.
var (total, deep, ids) = await PickIdsAsync(options.Value.DatabasePath);

var queries = new (string Name, Func<int, Task<int>> Run)[]
{
    ("first page", async _ => (await store.ListAsync(null, null, Page, null, default)).Count),
    ($"cursor page, {deep.Depth:N0} jobs deep", async _ => (await store.ListAsync(null, null, Page, deep.Id, default)).Count),
    ("status filter matching nothing (scanning)", async _ => (await store.ListAsync(null, JobStatus.Scanning, Page, null, default)).Count),
    ("owner filter (team-03, ~10% of jobs)", async _ => (await store.ListAsync("team-03", null, Page, null, default)).Count),
    ("owner filter, cursor deep", async _ => (await store.ListAsync("team-03", null, Page, deep.Id, default)).Count),
    ($"owner filter, owner with {RareOwnerJobs} old jobs", async _ => (await store.ListAsync("rare", null, Page, null, default)).Count),
    ("owner + status filter (team-03, failed)", async _ => (await store.ListAsync("team-03", JobStatus.Failed, Page, null, default)).Count),
    ("owner + status filter matching nothing", async _ => (await store.ListAsync("team-03", JobStatus.Scanning, Page, null, default)).Count),
    ("first page of 101 (the API's largest)", async _ => (await store.ListAsync(null, null, 101, null, default)).Count),
    ("GetAsync by id", async i => (await store.GetAsync(ids[i % ids.Count], default)) is null ? 0 : 1),
};

// Warm-up, not measured: at least 50 rounds and 5 s, so that the JIT has finished its tiers (fast queries would
// otherwise be timed in unoptimized code while slow ones, run long enough, would not).
var warm = Stopwatch.StartNew();
for (var round = 0; round < 50 || warm.Elapsed < TimeSpan.FromSeconds(5); round++)
{
    foreach (var query in queries)
    {
        await query.Run(round);
    }
}

var times = queries.Select(_ => new List<double>()).ToArray();
var rows = new int[queries.Length];
for (var round = 0; round < rounds; round++)
{
    for (var q = 0; q < queries.Length; q++)
    {
        var watch = Stopwatch.StartNew();
        rows[q] = await queries[q].Run(round);
        watch.Stop();
        times[q].Add(watch.Elapsed.TotalMilliseconds);
    }
}

Console.WriteLine();
Console.WriteLine($"{total:N0} jobs, {rounds} rounds, milliseconds");
Console.WriteLine($"| {"query",-45} | rows | median |    p95 |");
Console.WriteLine($"|{new string('-', 47)}|------|--------|--------|");
for (var q = 0; q < queries.Length; q++)
{
    var sorted = times[q].Order().ToArray();
    Console.WriteLine($"| {queries[q].Name,-45} | {rows[q],4} | {Percentile(sorted, 0.50),6:0.00} | {Percentile(sorted, 0.95),6:0.00} |");
}
Console.WriteLine($"database left in {root}");

static async Task<(int Total, (string Id, int Depth) Deep, List<string> Ids)> PickIdsAsync(string path)
{
    await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly");
    await connection.OpenAsync();
    var ids = new List<string>();
    await using (var command = connection.CreateCommand())
    {
        command.CommandText = "SELECT id FROM jobs ORDER BY seq";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }
    }
    var deep = ids[ids.Count / 10];
    var spread = Enumerable.Range(0, 64).Select(i => ids[(int)((long)i * 7919 % ids.Count)]).ToList();
    return (ids.Count, (deep, ids.Count - ids.Count / 10 - 1), spread);
}

static string Megabytes(string path) => File.Exists(path) ? $"{new FileInfo(path).Length / 1e6:0.0} MB" : "absent";

static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

Job SeedJob(int i, JobStatus status, string owner)
{
    var created = start.AddSeconds(i * 30);
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
    return new Job(
        Id: Guid.CreateVersion7(created).ToString("N"),
        Sequence: 0,
        Name: $"job {i}",
        Status: status,
        Limits: new JobLimits(300, 512, 1.0, 256),
        CorrelationId: Guid.CreateVersion7(created).ToString("N")[..16],
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
