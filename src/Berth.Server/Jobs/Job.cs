using Berth.Server.Configuration;
using System.Text.Json.Serialization;
using Berth.Server.Dockerfiles;

namespace Berth.Server.Jobs;

/// <summary>Resource limits of one job, already checked against the server's maxima.</summary>
public sealed record JobLimits(int TimeoutSeconds, int MemoryMb, double Cpus, int DataMb = LimitsOptions.MinDataMb);

/// <summary>The scan stage's verdict. Serialized in lower case (<c>passed</c>, <c>failed</c>, <c>incomplete</c>, <c>skipped</c>).</summary>
public enum ScanStatus
{
    Passed,

    /// <summary>Findings (or secrets) fail the policy.</summary>
    Failed,

    /// <summary>The image could not be fully read, or its release is not covered and the policy says so.</summary>
    Incomplete,

    Skipped,
}

/// <summary>
/// The scan stage's outcome as the job view shows it: <see cref="Status"/> is the verdict; <see cref="DbAge"/> is the advisory database's age in
/// days (null when unknown); <see cref="Incomplete"/> lists what could not be read; <see cref="Coverage"/>
/// says when the OS release is not covered by the database and what it was matched against instead;
/// <see cref="Secrets"/> counts secrets found in the job's own layers (listed, masked, in the report).
/// </summary>
public sealed record ScanSummary(
    ScanStatus Status,
    int Packages,
    Berth.Scanner.Reports.SeverityCounts Findings,
    double? DbAge,
    IReadOnlyList<string> Warnings,
    ScanDatabaseSummary? Database = null,
    IReadOnlyList<string>? Incomplete = null,
    string? Coverage = null,
    int Secrets = 0)
{
    public static ScanSummary Skipped(string why) => new(ScanStatus.Skipped, 0, new(0, 0, 0, 0, 0), null, [why]);
}

/// <summary>The advisory database a scan used, as the job view shows it.</summary>
public sealed record ScanDatabaseSummary(string Source, int Records, double? AgeDays)
{
    public static ScanDatabaseSummary Of(Berth.Scanner.Reports.DatabaseInfo info) => new(info.Source, info.Records, info.AgeDays);
}

/// <summary>Where a job's webhook is delivered: the submitted URL and the delivery id, the same on every attempt.</summary>
public sealed record JobCallback(string Url, string DeliveryId);

/// <summary>A job webhook's delivery. Serialized in lower case.</summary>
public enum WebhookState
{
    /// <summary>Not yet delivered: waiting for the job to finish, or for its next attempt.</summary>
    Pending,

    /// <summary>A receiver answered 2xx.</summary>
    Delivered,

    /// <summary>Every attempt (<c>Webhooks:MaxAttempts</c>) failed; given up.</summary>
    Failed,
}

/// <summary>
/// How a job's webhook delivery stands: attempts made, the receiver's last HTTP status (null when it gave none: a timeout,
/// a connection error, a refused address, whose reason is <see cref="LastError"/>) and when it was delivered.
/// </summary>
public sealed record JobWebhook(WebhookState State, int Attempts, int? LastStatus, string? LastError, DateTimeOffset? DeliveredAt)
{
    public static readonly JobWebhook New = new(WebhookState.Pending, 0, null, null, null);
}

/// <summary>Progress of one pipeline stage.</summary>
public sealed record StageState(string Name, StageStatus Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

public enum StageStatus
{
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Canceled,
}

/// <summary>
/// A job as stored. Changed only through <c>with</c> and saved whole by the store. <see cref="Cache"/>: the submitter
/// allows reusing the image of an identical earlier submission; <see cref="CacheHit"/>: this attempt did. <see cref="Agent"/>: the
/// agent that ran the current or last attempt (null for the in-process workers of a SQLite Berth).
/// </summary>
public sealed record Job(
    string Id,
    long Sequence,
    string? Name,
    JobStatus Status,
    JobLimits Limits,
    string? CorrelationId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    double? Performance,
    JobFailure? Failure,
    IReadOnlyList<StageState> Stages,
    string? ImageId,
    long? ExitCode,
    IReadOnlyList<LintFinding> Lint,
    int Attempts,
    ScanSummary? Scan = null,
    string Owner = Job.LocalOwner,
    bool Cache = true,
    bool CacheHit = false,
    string? Agent = null,
    JobWebhook? Webhook = null)
{
    /// <summary>
    /// Where the job's webhook goes, set only on a job being submitted: the stores keep the URL apart (it may carry a
    /// token) and never read it back into a job, so it appears in no view, log or agent message.
    /// </summary>
    [JsonIgnore]
    public JobCallback? Callback { get; init; }

    /// <summary>The owner of jobs submitted while no keys are configured (loopback-only mode).</summary>
    public const string LocalOwner = "local";

    /// <summary>
    /// The job queued again for another attempt: as it was before it was claimed (every stage pending, nothing of the
    /// attempt's outcome kept). Its attempt count and agent stay.
    /// </summary>
    public Job QueuedAgain() => this with
    {
        Status = JobStatus.Queued,
        StartedAt = null,
        FinishedAt = null,
        Failure = null,
        Performance = null,
        ExitCode = null,
        ImageId = null,
        Scan = null,
        CacheHit = false,
        Stages = Stages.Select(s => new StageState(s.Name, StageStatus.Pending, null, null)).ToList(),
    };

    public Job WithStage(string name, StageStatus status, DateTimeOffset now) => this with
    {
        Stages = Stages.Select(s => s.Name != name ? s : s with
        {
            Status = status,
            StartedAt = status == StageStatus.Running ? now : s.StartedAt,
            FinishedAt = status == StageStatus.Running ? null : now,
        }).ToList(),
    };
}
