using System.Globalization;
using System.Text.Json;
using Berth.Server.Configuration;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;
using Berth.Server.Streams;
using Berth.Server.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Server.Storage;

/// <summary>
/// The embedded job store: one SQLite file (WAL) under <c>Berth:DataRoot</c>. Every write that changes a job is
/// published to <paramref name="changes"/> (the live streams), after it is committed.
/// </summary>
public sealed class SqliteJobStore(IOptions<BerthOptions> options, JobChanges? changes = null) : IJobStore
{
    private const string Columns =
        "seq, id, name, status, limits, correlation_id, created_at, started_at, finished_at, performance, " +
        "failure_reason, failure_message, stages, image_id, exit_code, lint, attempts, scan, owner, cache, cache_hit, " +
        "webhook_state, webhook_attempts, webhook_last_status, webhook_last_error, webhook_delivered_at";

    // Status values inside SQL come from the one mapping in code (JobStatus.ToWire and its sets), never typed again.
    private static readonly string Queued = Literal(JobStatus.Queued);
    private static readonly string Canceled = Literal(JobStatus.Canceled);
    internal static readonly string Terminal = InList(s => s.IsTerminal());
    private static readonly string Active = InList(s => s.IsActive());

    /// <summary>How a stage's status reads inside the <c>stages</c> JSON column.</summary>
    private static readonly string StageSkipped = JsonSerializer.Serialize(StageStatus.Skipped, JobJson.Options).Trim('"');

    /// <summary>Most finished jobs kept in memory; past it the memory starts again empty.</summary>
    internal const int FinishedCacheSize = 10_000;

    /// <summary>
    /// Finished jobs as read: a finished job never changes in the database (saves skip it; only delete removes it, and
    /// drops it here first) once its webhook, if any, is no longer pending, so reads of one need neither SQLite nor JSON
    /// parsing. One process owns the database.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Job> _finished = new(StringComparer.Ordinal);

    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = options.Value.DatabasePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        DefaultTimeout = 30,
        Pooling = true,
    }.ToString();

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(options.Value.DatabasePath)!);
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS jobs (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                name TEXT,
                status TEXT NOT NULL,
                limits TEXT NOT NULL,
                correlation_id TEXT,
                created_at TEXT NOT NULL,
                started_at TEXT,
                finished_at TEXT,
                performance REAL,
                failure_reason TEXT,
                failure_message TEXT,
                stages TEXT NOT NULL,
                image_id TEXT,
                exit_code INTEGER,
                lint TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                scan TEXT,
                owner TEXT NOT NULL DEFAULT 'local',
                cache INTEGER NOT NULL DEFAULT 1,
                cache_hit INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX IF NOT EXISTS jobs_status_seq ON jobs(status, seq);
            CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
            """, cancellationToken);
        // Databases made by earlier versions gain the columns added since.
        foreach (var (column, definition) in new[]
                 {
                     ("scan", "scan TEXT"), ("owner", "owner TEXT NOT NULL DEFAULT 'local'"),
                     ("cache", "cache INTEGER NOT NULL DEFAULT 1"), ("cache_hit", "cache_hit INTEGER NOT NULL DEFAULT 0"),
                     // The job's webhook delivery (SqliteWebhookOutbox); webhook_state is null when the job has none.
                     ("webhook_url", "webhook_url TEXT"), ("webhook_delivery", "webhook_delivery TEXT"), ("webhook_state", "webhook_state TEXT"),
                     ("webhook_attempts", "webhook_attempts INTEGER NOT NULL DEFAULT 0"), ("webhook_last_status", "webhook_last_status INTEGER"),
                     ("webhook_last_error", "webhook_last_error TEXT"), ("webhook_delivered_at", "webhook_delivered_at TEXT"),
                     ("webhook_next_at", "webhook_next_at TEXT"), ("webhook_claimed_until", "webhook_claimed_until TEXT"),
                 })
        {
            await using var columns = connection.CreateCommand();
            columns.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = '{column}'";
            if (Convert.ToInt32(await columns.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
            {
                await ExecuteAsync(connection, $"ALTER TABLE jobs ADD COLUMN {definition}", cancellationToken);
            }
        }
        // Every list filter is an index range (see ListSql). Added in place to databases made before they existed.
        await ExecuteAsync(connection, """
            CREATE INDEX IF NOT EXISTS jobs_owner_seq ON jobs(owner, seq);
            CREATE INDEX IF NOT EXISTS jobs_owner_status_seq ON jobs(owner, status, seq);
            CREATE INDEX IF NOT EXISTS jobs_webhook_pending ON jobs(seq) WHERE webhook_state = 'pending';
            """, cancellationToken);
    }

    public async Task<Job?> TryEnqueueAsync(Job job, int queueCap, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO jobs (id, name, status, limits, correlation_id, created_at, started_at, finished_at, performance,
                              failure_reason, failure_message, stages, image_id, exit_code, lint, attempts, scan, owner, cache, cache_hit,
                              webhook_url, webhook_delivery, webhook_state)
            SELECT @id, @name, @status, @limits, @correlation_id, @created_at, @started_at, @finished_at, @performance,
                   @failure_reason, @failure_message, @stages, @image_id, @exit_code, @lint, @attempts, @scan, @owner, @cache, @cache_hit,
                   @webhook_url, @webhook_delivery, @webhook_state
            WHERE (SELECT COUNT(*) FROM jobs WHERE status = {Queued}) < @cap
            RETURNING seq;
            """;
        Bind(command, job);
        command.Parameters.AddWithValue("@webhook_url", (object?)job.Callback?.Url ?? DBNull.Value);
        command.Parameters.AddWithValue("@webhook_delivery", (object?)job.Callback?.DeliveryId ?? DBNull.Value);
        command.Parameters.AddWithValue("@webhook_state", job.Callback is null ? DBNull.Value : WebhookStates.ToWire(WebhookState.Pending));
        command.Parameters.AddWithValue("@cap", queueCap);
        // Read to the end, not ExecuteScalar: a statement reset before it is done commits without running
        // SQLite's automatic checkpoint, and a stream of submissions alone would grow the WAL without bound.
        long? seq = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                seq = reader.GetInt64(0);
            }
        }
        if (seq is not { } stored)
        {
            return null;
        }
        changes?.Publish(job.Id);
        return job with { Sequence = stored };
    }

    public async Task<Job?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (_finished.TryGetValue(id, out var finished))
        {
            return finished;
        }
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM jobs WHERE id = @id";
        command.Parameters.AddWithValue("@id", id);
        if ((await ReadAllAsync(command, cancellationToken)) is not [var job, ..])
        {
            return null;
        }
        if (job.Status.IsTerminal() && job.Webhook is not { State: WebhookState.Pending }) // a pending delivery still changes
        {
            if (_finished.Count >= FinishedCacheSize)
            {
                _finished.Clear();
            }
            _finished[id] = job;
        }
        return job;
    }

    public async Task<IReadOnlyList<Job>> ListAsync(string? owner, JobStatus? status, int limit, string? afterId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = ListSql(owner is not null, status is not null, afterId is not null);
        command.Parameters.AddWithValue("@owner", (object?)owner ?? DBNull.Value);
        command.Parameters.AddWithValue("@status", (object?)status?.ToWire() ?? DBNull.Value);
        command.Parameters.AddWithValue("@after", (object?)afterId ?? DBNull.Value);
        command.Parameters.AddWithValue("@limit", limit);
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>
    /// The list query with only the filters asked for, so that each one is an index range: keyset paging on
    /// <c>seq</c> (the cursor job's seq, looked up once by id; an unknown cursor matches nothing) over
    /// <c>jobs_owner_status_seq</c>, <c>jobs_owner_seq</c>, <c>jobs_status_seq</c> or the table itself.
    /// (<c>@x IS NULL OR ...</c> would make SQLite walk the table in seq order and test every row.)
    /// </summary>
    internal static string ListSql(bool byOwner, bool byStatus, bool afterCursor)
    {
        var where = new List<string>();
        if (byOwner)
        {
            where.Add("owner = @owner");
        }
        if (byStatus)
        {
            where.Add("status = @status");
        }
        if (afterCursor)
        {
            where.Add("seq < (SELECT seq FROM jobs WHERE id = @after)");
        }
        var filter = where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where);
        return $"SELECT {Columns} FROM jobs{filter} ORDER BY seq DESC LIMIT @limit";
    }

    public async Task<Job?> ClaimNextAsync(JobStatus status, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE jobs SET status = @status, started_at = @now, attempts = attempts + 1
            WHERE seq = (SELECT seq FROM jobs WHERE status = {Queued} ORDER BY seq LIMIT 1) AND status = {Queued}
            RETURNING {Columns}
            """;
        command.Parameters.AddWithValue("@status", status.ToWire());
        command.Parameters.AddWithValue("@now", Format(now));
        if ((await ReadAllAsync(command, cancellationToken)) is not [var first, ..])
        {
            return null;
        }
        changes?.Publish(first.Id);
        return first;
    }

    public async Task SaveAsync(Job job, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE jobs SET name = @name, status = @status, limits = @limits, correlation_id = @correlation_id,
                created_at = @created_at, started_at = @started_at, finished_at = @finished_at, performance = @performance,
                failure_reason = @failure_reason, failure_message = @failure_message, stages = @stages, image_id = @image_id,
                exit_code = @exit_code, lint = @lint, attempts = @attempts, scan = @scan, cache_hit = @cache_hit
            WHERE id = @id AND status NOT IN {Terminal}
            """;
        Bind(command, job);
        if (await command.ExecuteNonQueryAsync(cancellationToken) > 0)
        {
            changes?.Publish(job.Id);
        }
    }

    public async Task<bool> CancelIfQueuedAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE jobs SET status = {Canceled}, finished_at = @now,
                stages = (SELECT json_group_array(json_set(value, '$.status', @skipped)) FROM json_each(jobs.stages))
            WHERE id = @id AND status = {Queued}
            """;
        command.Parameters.AddWithValue("@id", id);
        command.Parameters.AddWithValue("@skipped", StageSkipped);
        command.Parameters.AddWithValue("@now", Format(now));
        var canceled = await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        if (canceled)
        {
            changes?.Publish(id);
        }
        return canceled;
    }

    public async Task<bool> DeleteIfTerminalAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"DELETE FROM jobs WHERE id = @id AND status IN {Terminal}";
        command.Parameters.AddWithValue("@id", id);
        _finished.TryRemove(id, out _); // a read racing this delete may put it back: it is removed again below
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        _finished.TryRemove(id, out _);
        if (deleted)
        {
            changes?.Publish(id);
        }
        return deleted;
    }

    public async Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM jobs WHERE status IN {Active} ORDER BY seq";
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<int> CountQueuedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM jobs WHERE status = {Queued}";
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    public async Task<int> CountActiveAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM jobs WHERE status IN {Active}";
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    public async Task CheckWritableAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "INSERT OR REPLACE INTO probe (id, at) VALUES (1, datetime('now'))", cancellationToken);
    }

    /// <summary>
    /// A finished job's row changed outside this class (its webhook delivery): drops the remembered copy and tells the
    /// streams, whose job views show the delivery.
    /// </summary>
    internal void Changed(string id)
    {
        _finished.TryRemove(id, out _);
        changes?.Publish(id);
    }

    internal async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Bind(SqliteCommand command, Job job)
    {
        var p = command.Parameters;
        p.AddWithValue("@id", job.Id);
        p.AddWithValue("@name", (object?)job.Name ?? DBNull.Value);
        p.AddWithValue("@status", job.Status.ToWire());
        p.AddWithValue("@limits", JsonSerializer.Serialize(job.Limits, JobJson.Options));
        p.AddWithValue("@correlation_id", (object?)job.CorrelationId ?? DBNull.Value);
        p.AddWithValue("@created_at", Format(job.CreatedAt));
        p.AddWithValue("@started_at", job.StartedAt is { } s ? Format(s) : DBNull.Value);
        p.AddWithValue("@finished_at", job.FinishedAt is { } f ? Format(f) : DBNull.Value);
        p.AddWithValue("@performance", (object?)job.Performance ?? DBNull.Value);
        p.AddWithValue("@failure_reason", (object?)job.Failure?.Reason ?? DBNull.Value);
        p.AddWithValue("@failure_message", (object?)job.Failure?.Message ?? DBNull.Value);
        p.AddWithValue("@stages", JsonSerializer.Serialize(job.Stages, JobJson.Options));
        p.AddWithValue("@image_id", (object?)job.ImageId ?? DBNull.Value);
        p.AddWithValue("@exit_code", (object?)job.ExitCode ?? DBNull.Value);
        p.AddWithValue("@lint", JsonSerializer.Serialize(job.Lint, JobJson.Options));
        p.AddWithValue("@attempts", job.Attempts);
        p.AddWithValue("@scan", job.Scan is null ? DBNull.Value : JsonSerializer.Serialize(job.Scan, JobJson.Options));
        p.AddWithValue("@owner", job.Owner);
        p.AddWithValue("@cache", job.Cache ? 1 : 0);
        p.AddWithValue("@cache_hit", job.CacheHit ? 1 : 0);
    }

    private static async Task<IReadOnlyList<Job>> ReadAllAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var jobs = new List<Job>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(Read(reader));
        }
        return jobs;
    }

    private static Job Read(SqliteDataReader r)
    {
        string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        DateTimeOffset? Time(int i) => r.IsDBNull(i) ? null : Parse(r.GetString(i));
        if (!JobStatusExtensions.TryParseWire(r.GetString(3), out var status))
        {
            throw new InvalidDataException($"job {r.GetString(1)} has an unknown status '{r.GetString(3)}' in the database");
        }
        var failureReason = Text(10);
        return new Job(
            Id: r.GetString(1),
            Sequence: r.GetInt64(0),
            Name: Text(2),
            Status: status,
            Limits: JsonSerializer.Deserialize<JobLimits>(r.GetString(4), JobJson.Options)!,
            CorrelationId: Text(5),
            CreatedAt: Parse(r.GetString(6)),
            StartedAt: Time(7),
            FinishedAt: Time(8),
            Performance: r.IsDBNull(9) ? null : r.GetDouble(9),
            Failure: failureReason is null ? null : new JobFailure(failureReason, Text(11) ?? ""),
            Stages: JsonSerializer.Deserialize<List<StageState>>(r.GetString(12), JobJson.Options)!,
            ImageId: Text(13),
            ExitCode: r.IsDBNull(14) ? null : r.GetInt64(14),
            Lint: JsonSerializer.Deserialize<List<LintFinding>>(r.GetString(15), JobJson.Options)!,
            Attempts: r.GetInt32(16),
            Scan: r.IsDBNull(17) ? null : JsonSerializer.Deserialize<ScanSummary>(r.GetString(17), JobJson.Options),
            Owner: r.GetString(18),
            Cache: r.GetInt64(19) != 0,
            CacheHit: r.GetInt64(20) != 0,
            Webhook: r.IsDBNull(21) ? null : new JobWebhook(WebhookStates.Parse(r.GetString(21)), r.GetInt32(22),
                r.IsDBNull(23) ? null : r.GetInt32(23), Text(24), Time(25)));
    }

    /// <summary>A status as an SQL string literal; wire names are lower-case ASCII letters, so nothing needs quoting.</summary>
    private static string Literal(JobStatus status)
    {
        var wire = status.ToWire();
        return wire.All(char.IsAsciiLetterLower) ? $"'{wire}'" : throw new InvalidOperationException($"status {status} has no plain wire name");
    }

    private static string InList(Func<JobStatus, bool> member) =>
        "(" + string.Join(", ", Enum.GetValues<JobStatus>().Where(member).Select(Literal)) + ")";

    internal static string Format(DateTimeOffset value) => value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    internal static DateTimeOffset Parse(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
