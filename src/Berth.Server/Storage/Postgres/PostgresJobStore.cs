using Berth.Server.Jobs;
using Berth.Server.Webhooks;
using Npgsql;
using NpgsqlTypes;
using static Berth.Server.Storage.Postgres.PostgresJobRows;

namespace Berth.Server.Storage.Postgres;

/// <summary>
/// The shared job store (<c>Store:Provider=postgres</c>): the same behaviour as <see cref="SqliteJobStore"/>, for any
/// number of API servers on one PostgreSQL. Connection failures surface as <see cref="StoreUnavailableException"/>.
/// <para>
/// Finished jobs are not kept in memory (the SQLite store does): another API server may delete one at any time, and a
/// copy kept here would then be served after its delete. A read by id is one index lookup.
/// </para>
/// </summary>
public sealed class PostgresJobStore(PostgresDatabase database) : IJobStore
{
    public Task InitializeAsync(CancellationToken cancellationToken) => database.InitializeAsync(cancellationToken);

    /// <summary>
    /// Under an advisory lock, so that the count of queued jobs and the insert are one step across every API server
    /// (the count runs after the lock is held, so it sees every enqueue committed before). Notifies waiting claims
    /// in the same transaction: they wake once the job is visible.
    /// </summary>
    public Task<Job?> TryEnqueueAsync(Job job, int queueCap, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, ct) =>
        {
            await PostgresDatabase.ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({PostgresSchema.EnqueueLock})", ct);
            await using var command = new NpgsqlCommand($"""
                WITH stored AS (
                    INSERT INTO jobs (id, name, status, limits, correlation_id, created_at, started_at, finished_at, performance,
                                      failure_reason, failure_message, stages, image_id, exit_code, lint, attempts, scan, owner, cache, cache_hit, agent,
                                      webhook_url, webhook_delivery, webhook_state)
                    SELECT @id, @name, @status, @limits, @correlation_id, @created_at, @started_at, @finished_at, @performance,
                           @failure_reason, @failure_message, @stages, @image_id, @exit_code, @lint, @attempts, @scan, @owner, @cache, @cache_hit, @agent,
                           @webhook_url, @webhook_delivery, @webhook_state
                    WHERE (SELECT count(*) FROM jobs WHERE status = {Queued}) < @cap
                    RETURNING seq)
                SELECT seq, pg_notify('{PostgresSchema.QueuedChannel}', '') FROM stored
                """, connection);
            Bind(command, job);
            Add(command, "webhook_url", NpgsqlDbType.Text, job.Callback?.Url);
            Add(command, "webhook_delivery", NpgsqlDbType.Text, job.Callback?.DeliveryId);
            Add(command, "webhook_state", NpgsqlDbType.Text, job.Callback is null ? null : WebhookStates.ToWire(WebhookState.Pending));
            Add(command, "cap", NpgsqlDbType.Bigint, (long)queueCap);
            return await command.ExecuteScalarAsync(ct) is long seq ? job with { Sequence = seq } : null;
        }, cancellationToken);

    public Task<Job?> GetAsync(string id, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"SELECT {Columns} FROM jobs WHERE id = @id", connection);
            Add(command, "id", NpgsqlDbType.Text, id);
            return (await ReadAllAsync(command, ct)) is [var job, ..] ? job : null;
        }, cancellationToken);

    public Task<IReadOnlyList<Job>> ListAsync(string? owner, JobStatus? status, int limit, string? afterId, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<Job>>(async (connection, ct) =>
        {
            await using var command = ListCommand(connection, owner, status, limit, afterId);
            return await ReadAllAsync(command, ct);
        }, cancellationToken);

    /// <summary>
    /// The list query with only the filters asked for, so that each one is a range of one index read backwards:
    /// keyset paging on <c>seq</c> (the cursor job's seq, looked up once by id; an unknown cursor matches nothing) over
    /// <c>jobs_owner_status_seq</c>, <c>jobs_owner_seq</c>, <c>jobs_status_seq</c> or <c>jobs_seq</c>, never a sort
    /// (see <see cref="PostgresSchema"/> for why <c>jobs_seq</c> is partial).
    /// </summary>
    internal static NpgsqlCommand ListCommand(NpgsqlConnection? connection, string? owner, JobStatus? status, int limit, string? afterId)
    {
        var command = new NpgsqlCommand { Connection = connection };
        var where = new List<string>();
        if (owner is not null)
        {
            where.Add("owner = @owner");
            Add(command, "owner", NpgsqlDbType.Text, owner);
        }
        if (status is { } wanted)
        {
            where.Add("status = @status");
            Add(command, "status", NpgsqlDbType.Text, wanted.ToWire());
        }
        if (afterId is not null)
        {
            where.Add("seq < (SELECT seq FROM jobs WHERE id = @after)");
            Add(command, "after", NpgsqlDbType.Text, afterId);
        }
        if (owner is null && status is null)
        {
            where.Add("seq > 0"); // the predicate of jobs_seq, the one index only this list can use
        }
        Add(command, "limit", NpgsqlDbType.Integer, limit);
        var filter = where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where);
        command.CommandText = $"SELECT {Columns} FROM jobs{filter} ORDER BY seq DESC LIMIT @limit";
        return command;
    }

    public Task<Job?> ClaimNextAsync(JobStatus status, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                UPDATE jobs SET status = @status, started_at = @now, attempts = attempts + 1
                WHERE id = (SELECT id FROM jobs WHERE status = {Queued} ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING {Columns}
                """, connection);
            Add(command, "status", NpgsqlDbType.Text, status.ToWire());
            Add(command, "now", NpgsqlDbType.TimestampTz, now.ToUniversalTime());
            return (await ReadAllAsync(command, ct)) is [var job, ..] ? job : null;
        }, cancellationToken);

    public Task SaveAsync(Job job, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                UPDATE jobs SET name = @name, status = @status, limits = @limits, correlation_id = @correlation_id,
                    created_at = @created_at, started_at = @started_at, finished_at = @finished_at, performance = @performance,
                    failure_reason = @failure_reason, failure_message = @failure_message, stages = @stages, image_id = @image_id,
                    exit_code = @exit_code, lint = @lint, attempts = @attempts, scan = @scan, cache_hit = @cache_hit, agent = @agent
                WHERE id = @id AND status NOT IN {Terminal}
                """, connection);
            Bind(command, job);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    public Task<bool> CancelIfQueuedAsync(string id, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                UPDATE jobs SET status = {Canceled}, finished_at = @now, stages = {SkipEveryStage("jobs.stages")}
                WHERE id = @id AND status = {Queued}
                """, connection);
            Add(command, "id", NpgsqlDbType.Text, id);
            Add(command, "now", NpgsqlDbType.TimestampTz, now.ToUniversalTime());
            return await command.ExecuteNonQueryAsync(ct) > 0;
        }, cancellationToken);

    /// <summary>Deletes the job with its files and log chunks, in one transaction: a deleted job leaves nothing behind.</summary>
    public Task<bool> DeleteIfTerminalAsync(string id, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                WITH deleted AS (DELETE FROM jobs WHERE id = @id AND status IN {Terminal} RETURNING id),
                     files AS (DELETE FROM job_files WHERE job_id IN (SELECT id FROM deleted)),
                     logs AS (DELETE FROM job_logs WHERE job_id IN (SELECT id FROM deleted))
                SELECT count(*) FROM deleted
                """, connection);
            Add(command, "id", NpgsqlDbType.Text, id);
            return (long)(await command.ExecuteScalarAsync(ct))! > 0;
        }, cancellationToken);

    public Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<Job>>(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"SELECT {Columns} FROM jobs WHERE status IN {Active} ORDER BY seq", connection);
            return await ReadAllAsync(command, ct);
        }, cancellationToken);

    public Task<int> CountQueuedAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM jobs WHERE status = {Queued}", connection);
            return (int)(long)(await command.ExecuteScalarAsync(ct))!;
        }, cancellationToken);

    public Task<int> CountActiveAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM jobs WHERE status IN {Active}", connection);
            return (int)(long)(await command.ExecuteScalarAsync(ct))!;
        }, cancellationToken);

    public Task CheckWritableAsync(CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand(
                "INSERT INTO probe (id, at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET at = excluded.at", connection);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    /// <summary>The <c>stages</c> JSON text in <paramref name="column"/> with every stage's status set to skipped, in order.</summary>
    internal static string SkipEveryStage(string column) => $$"""
        (SELECT coalesce(jsonb_agg(jsonb_set(stage.value, '{status}', to_jsonb('{{StageSkipped}}'::text)) ORDER BY stage.n), '[]'::jsonb)::text
         FROM jsonb_array_elements({{column}}::jsonb) WITH ORDINALITY AS stage(value, n))
        """;
}
