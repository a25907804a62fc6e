using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;

namespace Berth.Server.Api;

/// <summary>
/// The job as clients see it (<c>GET /api/v1/jobs/{id}</c>). <see cref="CacheHit"/>: this attempt reused the image an
/// identical submission built instead of building. <see cref="Agent"/>: the agent that ran the current or last attempt (a
/// fleet; null when the server's own workers ran it); <see cref="Attempts"/>: how many times the job was started;
/// <see cref="Webhook"/>: the delivery to the submission's <c>callbackUrl</c>, null without one.
/// </summary>
public sealed record JobView(
    string Id,
    string? Name,
    string Owner,
    JobStatus Status,
    double? Performance,
    JobFailure? Failure,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<StageView> Stages,
    string? ImageId,
    long? ExitCode,
    IReadOnlyList<LintFinding> Lint,
    ScanSummary? Scan,
    JobLimits Limits,
    bool CacheHit,
    string? Agent,
    int Attempts,
    WebhookView? Webhook)
{
    public static JobView From(Job job) => new(
        job.Id,
        job.Name,
        job.Owner,
        job.Status,
        job.Performance,
        job.Failure,
        job.CreatedAt,
        job.StartedAt,
        job.FinishedAt,
        job.Stages.Select(s => new StageView(s.Name, s.Status, s.StartedAt, s.FinishedAt)).ToList(),
        job.ImageId,
        job.ExitCode,
        job.Lint,
        job.Scan,
        job.Limits,
        job.CacheHit,
        job.Agent,
        job.Attempts,
        job.Webhook is { } webhook ? new WebhookView(webhook.State, webhook.Attempts, webhook.LastStatus, webhook.LastError, webhook.DeliveredAt) : null);
}

/// <summary>
/// The job's webhook delivery (null when the submission had no <c>callbackUrl</c>; the URL itself is never shown):
/// <c>pending</c> until a receiver answers 2xx (<c>delivered</c>) or every attempt failed (<c>failed</c>).
/// </summary>
public sealed record WebhookView(WebhookState State, int Attempts, int? LastStatus, string? LastError, DateTimeOffset? DeliveredAt);

public sealed record StageView(string Name, StageStatus Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

/// <summary>One page of jobs, newest first; pass <see cref="Next"/> as <c>after</c> for the next page.</summary>
public sealed record JobPage(IReadOnlyList<JobView> Items, string? Next);
