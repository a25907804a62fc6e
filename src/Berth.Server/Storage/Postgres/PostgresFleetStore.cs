using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Npgsql;
using NpgsqlTypes;
using static Berth.Server.Storage.Postgres.PostgresJobRows;

namespace Berth.Server.Storage.Postgres;

/// <summary>
/// The lease protocol on the shared PostgreSQL (see <see cref="IFleetStore"/>). A job's lease is three columns of its
/// row: <c>lease_token</c> (from the sequence <c>lease_tokens</c>), <c>lease_expires_at</c> (database clock) and
/// <c>cancel_requested</c>. Every write under a lease names the token and the job must still be active with that token;
/// writes of one job are serialized by its row lock. A completed job keeps its token (a retried completion is
/// recognised) and no expiry; a job queued again or lost has neither. Connection failures surface as
/// <see cref="StoreUnavailableException"/>. Every job it ends is told to <paramref name="outcomes"/> once, after the commit.
/// </summary>
public sealed class PostgresFleetStore(PostgresDatabase database, IJobOutcomes outcomes) : IFleetStore
{
    /// <summary>
    /// A new lease token: the sequence in the high bits, so every token is larger than all before it, and 31 bits from
    /// the database's strong random source below, so that an agent cannot guess the token another agent holds from its own.
    /// </summary>
    internal const string TokenExpression =
        "((nextval('lease_tokens') << 31) | (('x' || substr(md5(gen_random_uuid()::text), 1, 8))::bit(32)::bigint & 2147483647))";

    /// <summary>Expired leases ended per call; the next call (a few seconds later) ends the rest.</summary>
    internal const int ExpiryBatch = 100;

    /// <summary>How often this process removes the submission counts of past minutes.</summary>
    internal static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);

    private static readonly string ResultFiles = $"('{PostgresJobFiles.FileName(JobFile.ScanReport)}', '{PostgresJobFiles.FileName(JobFile.Sbom)}')";

    private long _lastPrune = long.MinValue;

    public Task<Lease?> ClaimAsync(string agent, JobStatus firstStatus, TimeSpan lease, CancellationToken cancellationToken)
    {
        RequireActive(firstStatus, nameof(firstStatus));
        RequirePositive(lease);
        return database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                UPDATE jobs SET status = @status, attempts = attempts + 1, agent = @agent, started_at = now(),
                    lease_token = {TokenExpression}, lease_expires_at = now() + @lease, cancel_requested = false
                WHERE id = (SELECT id FROM jobs WHERE status = {Queued} ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
                  AND status = {Queued}
                RETURNING {Columns}, lease_token, lease_expires_at
                """, connection);
            Add(command, "status", NpgsqlDbType.Text, firstStatus.ToWire());
            Add(command, "agent", NpgsqlDbType.Text, agent);
            Add(command, "lease", NpgsqlDbType.Interval, lease);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct)
                ? new Lease(Read(reader), reader.GetInt64(ColumnCount), reader.GetFieldValue<DateTimeOffset>(ColumnCount + 1))
                : null;
        }, cancellationToken);
    }

    public Task<bool> WaitForWorkAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        database.Listener.WaitAsync(timeout, cancellationToken);

    /// <summary>
    /// A lease whose time ran out but that expiry has not ended yet is still held: a late heartbeat keeps the job.
    /// <paramref name="progress"/> must be in an active status (<see cref="ArgumentException"/> otherwise): an agent ends a
    /// job only through <see cref="CompleteAsync"/>.
    /// </summary>
    public Task<LeaseRenewal> RenewAsync(string jobId, long token, Job? progress, TimeSpan lease, CancellationToken cancellationToken)
    {
        RequirePositive(lease);
        if (progress is not null)
        {
            RequireActive(progress.Status, nameof(progress));
            RequireSameJob(jobId, progress, nameof(progress));
        }
        return database.WriteAsync(async (connection, _, ct) =>
        {
            var saves = progress is null ? "" : ", status = @status, stages = @stages, image_id = @image_id, lint = @lint, scan = @scan, cache_hit = @cache_hit";
            await using var command = new NpgsqlCommand($"""
                UPDATE jobs SET lease_expires_at = now() + @lease{saves}
                WHERE id = @id AND lease_token = @token AND status IN {Active}
                RETURNING cancel_requested, lease_expires_at
                """, connection);
            if (progress is not null)
            {
                Add(command, "status", NpgsqlDbType.Text, progress.Status.ToWire());
                BindResult(command, progress);
            }
            AddLease(command, jobId, token);
            Add(command, "lease", NpgsqlDbType.Interval, lease);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct)
                ? new LeaseRenewal(true, reader.GetBoolean(0), reader.GetFieldValue<DateTimeOffset>(1))
                : LeaseRenewal.Stale;
        }, cancellationToken);
    }

    public Task<bool> HoldsAsync(string jobId, long token, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT EXISTS (SELECT 1 FROM jobs WHERE id = @id AND lease_token = @token AND status IN {Active} AND lease_expires_at > now())
                """, connection);
            AddLease(command, jobId, token);
            return (bool)(await command.ExecuteScalarAsync(ct))!;
        }, cancellationToken);

    /// <summary>
    /// Writes what the attempt produced (status, finish time, performance, failure, stages, image, exit code, lint, scan,
    /// cache hit), never the submitter's fields. <paramref name="result"/> must be terminal (<see cref="ArgumentException"/>
    /// otherwise). Its finish time is the agent's, or the database's now when it has none.
    /// </summary>
    public Task<bool> CompleteAsync(string jobId, long token, Job result, CancellationToken cancellationToken)
    {
        if (!result.Status.IsTerminal())
        {
            throw new ArgumentException($"a result must be succeeded, failed or canceled, not {result.Status.ToWire()}", nameof(result));
        }
        RequireSameJob(jobId, result, nameof(result));
        return CompleteAndTellAsync(jobId, token, result, cancellationToken);
    }

    private async Task<bool> CompleteAndTellAsync(string jobId, long token, Job result, CancellationToken cancellationToken)
    {
        var (wrote, earlier) = await database.WriteAsync(async (connection, _, ct) =>
        {
            // The second EXISTS reads the row as it was before this statement: true only for an earlier completion.
            await using var command = new NpgsqlCommand($"""
                WITH completed AS (
                    UPDATE jobs SET status = @status, finished_at = coalesce(@finished_at, now()), performance = @performance,
                        failure_reason = @failure_reason, failure_message = @failure_message, stages = @stages, image_id = @image_id,
                        exit_code = @exit_code, lint = @lint, scan = @scan, cache_hit = @cache_hit,
                        lease_expires_at = NULL, cancel_requested = false
                    WHERE id = @id AND lease_token = @token AND status IN {Active}
                    RETURNING 1)
                SELECT EXISTS (SELECT 1 FROM completed),
                    EXISTS (SELECT 1 FROM jobs WHERE id = @id AND lease_token = @token AND status IN {Terminal} AND lease_expires_at IS NULL)
                """, connection);
            Add(command, "status", NpgsqlDbType.Text, result.Status.ToWire());
            Add(command, "finished_at", NpgsqlDbType.TimestampTz, result.FinishedAt?.ToUniversalTime());
            BindResult(command, result);
            AddLease(command, jobId, token);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return (reader.GetBoolean(0), reader.GetBoolean(1));
        }, cancellationToken);
        if (wrote)
        {
            outcomes.Finished(result); // a retried completion (earlier) was told the first time
        }
        return wrote || earlier;
    }

    /// <summary>
    /// Queued again as it was before the claim (stages pending, the attempt's results, logs and result files gone, the
    /// attempt not counted), and waiting claims are woken. A job whose cancel was requested ends as canceled instead.
    /// </summary>
    public async Task<bool> ReleaseAsync(string jobId, long token, CancellationToken cancellationToken)
    {
        var (held, canceled) = await database.WriteAsync<(bool, Job?)>(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT {Columns}, cancel_requested, now() FROM jobs
                WHERE id = @id AND lease_token = @token AND status IN {Active}
                FOR UPDATE
                """, connection);
            AddLease(command, jobId, token);
            var held = await ReadLockedAsync(command, ct);
            if (held is not [var (job, cancelRequested, now)])
            {
                return (false, null);
            }
            if (cancelRequested)
            {
                var ended = Ended(job, JobStatus.Canceled, StageStatus.Canceled, now, null);
                await UpdateAsync(connection, ended, ct);
                return (true, ended);
            }
            await RequeueAsync(connection, job with { Attempts = Math.Max(0, job.Attempts - 1) }, ct);
            return (true, null);
        }, cancellationToken);
        if (canceled is not null)
        {
            outcomes.Finished(canceled);
        }
        return held;
    }

    public Task<LogAppend> AppendLogAsync(string jobId, long token, JobLog stream, long offset, ReadOnlyMemory<byte> data, long cap, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(cap);
        var name = AgentProtocol.LogName(stream);
        return database.WriteAsync(async (connection, _, ct) =>
        {
            if (!await LockHeldAsync(connection, jobId, token, ct))
            {
                return new LogAppend(LogAppendStatus.Stale, 0);
            }
            await using var end = new NpgsqlCommand("""
                SELECT start_offset + length(data) FROM job_logs WHERE job_id = @id AND stream = @stream
                ORDER BY start_offset DESC LIMIT 1
                """, connection);
            Add(end, "id", NpgsqlDbType.Text, jobId);
            Add(end, "stream", NpgsqlDbType.Text, name);
            var length = await end.ExecuteScalarAsync(ct) is long stored ? stored : 0;
            if (offset > length)
            {
                return new LogAppend(LogAppendStatus.Gap, length);
            }
            // Bytes before the stored length are there already (a retry, or a chunk that overlaps the last one).
            var fresh = data[(int)Math.Min(length - offset, data.Length)..];
            var kept = fresh[..(int)Math.Clamp(cap - length, 0, fresh.Length)];
            if (kept.Length > 0)
            {
                await PostgresJobFiles.InsertLogChunkAsync(connection, jobId, name, length, kept, ct);
            }
            return new LogAppend(LogAppendStatus.Appended, length + kept.Length);
        }, cancellationToken);
    }

    /// <summary>Only the files agents make: <see cref="JobFile.ScanReport"/> and <see cref="JobFile.Sbom"/> (<see cref="ArgumentOutOfRangeException"/> otherwise).</summary>
    public Task<bool> PutFileAsync(string jobId, long token, JobFile file, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        if (file is not (JobFile.ScanReport or JobFile.Sbom))
        {
            throw new ArgumentOutOfRangeException(nameof(file), file, "agents store only the scan report and the SBOM");
        }
        return database.WriteAsync(async (connection, _, ct) =>
        {
            if (!await LockHeldAsync(connection, jobId, token, ct))
            {
                return false;
            }
            await PostgresJobFiles.DeleteAsync(connection, jobId, file, ct);
            var chunk = 0;
            do
            {
                var part = content[..Math.Min(content.Length, PostgresJobFiles.ChunkBytes)];
                await PostgresJobFiles.InsertFileChunkAsync(connection, jobId, file, chunk++, part, ct);
                content = content[part.Length..];
            }
            while (!content.IsEmpty);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Ends up to <see cref="ExpiryBatch"/> run-out leases (oldest first; rows another server is ending are skipped).
    /// A job whose cancel was requested ends as canceled rather than being queued again or lost.
    /// </summary>
    public async Task<IReadOnlyList<ExpiredLease>> ExpireLeasesAsync(int maxAttempts, TimeSpan reconnectGrace, CancellationToken cancellationToken)
    {
        var (expired, ended) = await database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT {Columns}, cancel_requested, now() FROM jobs
                WHERE lease_expires_at < now() AND status IN {Active}
                  AND now() >= pg_postmaster_start_time() + @grace
                ORDER BY lease_expires_at LIMIT {ExpiryBatch}
                FOR UPDATE SKIP LOCKED
                """, connection);
            Add(command, "grace", NpgsqlDbType.Interval, reconnectGrace);
            var expired = new List<ExpiredLease>();
            var ended = new List<Job>();
            foreach (var (job, cancelRequested, now) in await ReadLockedAsync(command, ct))
            {
                if (cancelRequested)
                {
                    ended.Add(Ended(job, JobStatus.Canceled, StageStatus.Canceled, now, null));
                    await UpdateAsync(connection, ended[^1], ct);
                    expired.Add(new(job.Id, job.Agent, Requeued: false));
                }
                else if (job.Attempts < maxAttempts)
                {
                    await RequeueAsync(connection, job, ct);
                    expired.Add(new(job.Id, job.Agent, Requeued: true));
                }
                else
                {
                    var failure = new JobFailure(FailureReasons.WorkerLost,
                        $"the agent '{job.Agent ?? "(unnamed)"}' stopped answering (its lease ran out without a heartbeat) on attempt {job.Attempts} of {maxAttempts} (Fleet:MaxAttempts)");
                    ended.Add(Ended(job, JobStatus.Failed, StageStatus.Failed, now, failure));
                    await UpdateAsync(connection, ended[^1], ct);
                    expired.Add(new(job.Id, job.Agent, Requeued: false));
                }
            }
            return (expired, ended);
        }, cancellationToken);
        foreach (var job in ended)
        {
            outcomes.Finished(job);
        }
        return expired;
    }

    public Task<bool> RequestCancelAsync(string jobId, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"UPDATE jobs SET cancel_requested = true WHERE id = @id AND status IN {Active}", connection);
            Add(command, "id", NpgsqlDbType.Text, jobId);
            return await command.ExecuteNonQueryAsync(ct) > 0;
        }, cancellationToken);

    /// <summary>
    /// One row per owner and minute (UTC, database clock), counted up only while under <paramref name="perMinute"/>
    /// (<c>ON CONFLICT ... WHERE</c>: concurrent submissions from any server queue on the row). Past minutes are removed
    /// about once a minute per process.
    /// </summary>
    public Task<TimeSpan?> TryCountSubmissionAsync(string owner, int perMinute, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perMinute, 1);
        var prune = PruneDue();
        return database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand("""
                WITH counted AS (
                    INSERT INTO submit_counts AS s (owner, minute, count) VALUES (@owner, date_trunc('minute', now(), 'UTC'), 1)
                    ON CONFLICT (owner, minute) DO UPDATE SET count = s.count + 1 WHERE s.count < @per_minute
                    RETURNING count)
                SELECT EXISTS (SELECT 1 FROM counted), date_trunc('minute', now(), 'UTC') + interval '1 minute' - now()
                """, connection);
            Add(command, "owner", NpgsqlDbType.Text, owner);
            Add(command, "per_minute", NpgsqlDbType.Integer, perMinute);
            bool counted;
            TimeSpan left;
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                counted = reader.GetBoolean(0);
                left = reader.GetFieldValue<TimeSpan>(1);
            }
            if (prune)
            {
                await PostgresDatabase.ExecuteAsync(connection, "DELETE FROM submit_counts WHERE minute < date_trunc('minute', now(), 'UTC')", ct);
            }
            return counted ? (TimeSpan?)null : left;
        }, cancellationToken);
    }

    /// <summary>True about once per <see cref="PruneInterval"/> (the first call included).</summary>
    private bool PruneDue()
    {
        var now = database.Time.GetTimestamp();
        var last = Interlocked.Read(ref _lastPrune);
        return (last == long.MinValue || database.Time.GetElapsedTime(last, now) >= PruneInterval)
            && Interlocked.CompareExchange(ref _lastPrune, now, last) == last;
    }

    /// <summary>Locks the job's row while <paramref name="token"/> is its lease and it is active.</summary>
    private static async Task<bool> LockHeldAsync(NpgsqlConnection connection, string jobId, long token, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT 1 FROM jobs WHERE id = @id AND lease_token = @token AND status IN {Active} FOR UPDATE", connection);
        AddLease(command, jobId, token);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private static async Task<List<(Job Job, bool CancelRequested, DateTimeOffset Now)>> ReadLockedAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<(Job, bool, DateTimeOffset)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((Read(reader), reader.GetBoolean(ColumnCount), reader.GetFieldValue<DateTimeOffset>(ColumnCount + 1)));
        }
        return rows;
    }

    /// <summary>Queued again as before its claim, its lease gone, the attempt's logs and result files removed; claims are woken.</summary>
    private static async Task RequeueAsync(NpgsqlConnection connection, Job job, CancellationToken cancellationToken)
    {
        await UpdateAsync(connection, job.QueuedAgain(), cancellationToken);
        await using var command = new NpgsqlCommand($"""
            DELETE FROM job_logs WHERE job_id = @id;
            DELETE FROM job_files WHERE job_id = @id AND file IN {ResultFiles};
            SELECT pg_notify('{PostgresSchema.QueuedChannel}', '');
            """, connection);
        Add(command, "id", NpgsqlDbType.Text, job.Id);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The job ended by the store: the running stage gets <paramref name="stage"/>, the pending ones are skipped.</summary>
    private static Job Ended(Job job, JobStatus status, StageStatus stage, DateTimeOffset now, JobFailure? failure) => job with
    {
        Status = status,
        FinishedAt = now,
        Failure = failure,
        Stages = job.Stages.Select(s => s.Status switch
        {
            StageStatus.Running => s with { Status = stage, FinishedAt = now },
            StageStatus.Pending => s with { Status = StageStatus.Skipped },
            _ => s,
        }).ToList(),
    };

    /// <summary>Writes an attempt's state (never the submitter's fields) and drops the lease.</summary>
    private static async Task UpdateAsync(NpgsqlConnection connection, Job job, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE jobs SET status = @status, started_at = @started_at, finished_at = @finished_at, performance = @performance,
                failure_reason = @failure_reason, failure_message = @failure_message, stages = @stages, image_id = @image_id,
                exit_code = @exit_code, lint = @lint, scan = @scan, cache_hit = @cache_hit, attempts = @attempts,
                lease_token = NULL, lease_expires_at = NULL, cancel_requested = false
            WHERE id = @id
            """, connection);
        Bind(command, job);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddLease(NpgsqlCommand command, string jobId, long token)
    {
        Add(command, "id", NpgsqlDbType.Text, jobId);
        Add(command, "token", NpgsqlDbType.Bigint, token);
    }

    private static void RequireActive(JobStatus status, string parameter)
    {
        if (!status.IsActive())
        {
            throw new ArgumentException($"an agent's job is linting, building, scanning or running, not {status.ToWire()}", parameter);
        }
    }

    private static void RequireSameJob(string jobId, Job job, string parameter)
    {
        if (job.Id != jobId)
        {
            throw new ArgumentException($"the job sent is {job.Id}, not {jobId}", parameter);
        }
    }

    private static void RequirePositive(TimeSpan lease) => ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
}
