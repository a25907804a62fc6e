using System.Text.Json;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;
using Berth.Server.Webhooks;
using Npgsql;
using NpgsqlTypes;

namespace Berth.Server.Storage.Postgres;

/// <summary>How a <see cref="Job"/> is a row of <c>jobs</c>: the column list, parameters and reading, shared by the job store and the fleet store.</summary>
internal static class PostgresJobRows
{
    /// <summary>The job's columns, in the order <see cref="Read"/> reads them (from <paramref name="offset"/>).</summary>
    public const string Columns =
        "seq, id, name, status, limits, correlation_id, created_at, started_at, finished_at, performance, " +
        "failure_reason, failure_message, stages, image_id, exit_code, lint, attempts, scan, owner, cache, cache_hit, agent, " +
        "webhook_state, webhook_attempts, webhook_last_status, webhook_last_error, webhook_delivered_at";

    public const int ColumnCount = 27;

    // Status values inside SQL come from the one mapping in code (JobStatus.ToWire and its sets), never typed again.
    public static readonly string Queued = Literal(JobStatus.Queued);
    public static readonly string Canceled = Literal(JobStatus.Canceled);
    public static readonly string Terminal = InList(s => s.IsTerminal());
    public static readonly string Active = InList(s => s.IsActive());

    /// <summary>How a stage's status reads inside the <c>stages</c> JSON column.</summary>
    public static readonly string StageSkipped = JsonSerializer.Serialize(StageStatus.Skipped, JobJson.Options).Trim('"');

    /// <summary>Every field of <paramref name="job"/> as parameters named like its columns (<c>@id</c>, <c>@name</c>, ...).</summary>
    public static void Bind(NpgsqlCommand command, Job job)
    {
        Add(command, "id", NpgsqlDbType.Text, job.Id);
        Add(command, "name", NpgsqlDbType.Text, job.Name);
        Add(command, "status", NpgsqlDbType.Text, job.Status.ToWire());
        Add(command, "limits", NpgsqlDbType.Text, JsonSerializer.Serialize(job.Limits, JobJson.Options));
        Add(command, "correlation_id", NpgsqlDbType.Text, job.CorrelationId);
        Add(command, "created_at", NpgsqlDbType.TimestampTz, job.CreatedAt.ToUniversalTime());
        Add(command, "started_at", NpgsqlDbType.TimestampTz, job.StartedAt?.ToUniversalTime());
        Add(command, "finished_at", NpgsqlDbType.TimestampTz, job.FinishedAt?.ToUniversalTime());
        BindResult(command, job);
        Add(command, "attempts", NpgsqlDbType.Integer, job.Attempts);
        Add(command, "owner", NpgsqlDbType.Text, job.Owner);
        Add(command, "cache", NpgsqlDbType.Boolean, job.Cache);
        Add(command, "agent", NpgsqlDbType.Text, job.Agent);
    }

    /// <summary>What an attempt produces: <c>@performance</c>, <c>@failure_*</c>, <c>@stages</c>, <c>@image_id</c>, <c>@exit_code</c>, <c>@lint</c>, <c>@scan</c>, <c>@cache_hit</c>.</summary>
    public static void BindResult(NpgsqlCommand command, Job job)
    {
        Add(command, "performance", NpgsqlDbType.Double, job.Performance);
        Add(command, "failure_reason", NpgsqlDbType.Text, job.Failure?.Reason);
        Add(command, "failure_message", NpgsqlDbType.Text, job.Failure?.Message);
        Add(command, "stages", NpgsqlDbType.Text, JsonSerializer.Serialize(job.Stages, JobJson.Options));
        Add(command, "image_id", NpgsqlDbType.Text, job.ImageId);
        Add(command, "exit_code", NpgsqlDbType.Bigint, job.ExitCode);
        Add(command, "lint", NpgsqlDbType.Text, JsonSerializer.Serialize(job.Lint, JobJson.Options));
        Add(command, "scan", NpgsqlDbType.Text, job.Scan is null ? null : JsonSerializer.Serialize(job.Scan, JobJson.Options));
        Add(command, "cache_hit", NpgsqlDbType.Boolean, job.CacheHit);
    }

    public static void Add(NpgsqlCommand command, string name, NpgsqlDbType type, object? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });

    public static async Task<List<Job>> ReadAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var jobs = new List<Job>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(Read(reader));
        }
        return jobs;
    }

    /// <summary>The job in the <see cref="Columns"/> starting at column <paramref name="offset"/>.</summary>
    public static Job Read(NpgsqlDataReader r, int offset = 0)
    {
        string? Text(int i) => r.IsDBNull(offset + i) ? null : r.GetString(offset + i);
        DateTimeOffset? Time(int i) => r.IsDBNull(offset + i) ? null : r.GetFieldValue<DateTimeOffset>(offset + i);
        var id = r.GetString(offset + 1);
        var wire = r.GetString(offset + 3);
        if (!JobStatusExtensions.TryParseWire(wire, out var status))
        {
            throw new InvalidDataException($"job {id} has an unknown status '{wire}' in the database");
        }
        var failureReason = Text(10);
        return new Job(
            Id: id,
            Sequence: r.GetInt64(offset),
            Name: Text(2),
            Status: status,
            Limits: JsonSerializer.Deserialize<JobLimits>(r.GetString(offset + 4), JobJson.Options)!,
            CorrelationId: Text(5),
            CreatedAt: r.GetFieldValue<DateTimeOffset>(offset + 6),
            StartedAt: Time(7),
            FinishedAt: Time(8),
            Performance: r.IsDBNull(offset + 9) ? null : r.GetDouble(offset + 9),
            Failure: failureReason is null ? null : new JobFailure(failureReason, Text(11) ?? ""),
            Stages: JsonSerializer.Deserialize<List<StageState>>(r.GetString(offset + 12), JobJson.Options)!,
            ImageId: Text(13),
            ExitCode: r.IsDBNull(offset + 14) ? null : r.GetInt64(offset + 14),
            Lint: JsonSerializer.Deserialize<List<LintFinding>>(r.GetString(offset + 15), JobJson.Options)!,
            Attempts: r.GetInt32(offset + 16),
            Scan: r.IsDBNull(offset + 17) ? null : JsonSerializer.Deserialize<ScanSummary>(r.GetString(offset + 17), JobJson.Options),
            Owner: r.GetString(offset + 18),
            Cache: r.GetBoolean(offset + 19),
            CacheHit: r.GetBoolean(offset + 20),
            Agent: Text(21),
            Webhook: Text(22) is { } webhook
                ? new JobWebhook(WebhookStates.Parse(webhook), r.GetInt32(offset + 23), r.IsDBNull(offset + 24) ? null : r.GetInt32(offset + 24), Text(25), Time(26))
                : null);
    }

    /// <summary>A status as an SQL string literal; wire names are lower-case ASCII letters, so nothing needs quoting.</summary>
    private static string Literal(JobStatus status)
    {
        var wire = status.ToWire();
        return wire.All(char.IsAsciiLetterLower) ? $"'{wire}'" : throw new InvalidOperationException($"status {status} has no plain wire name");
    }

    private static string InList(Func<JobStatus, bool> member) =>
        "(" + string.Join(", ", Enum.GetValues<JobStatus>().Where(member).Select(Literal)) + ")";
}
