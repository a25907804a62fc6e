using System.Text.Json;

namespace Berth.Cli.Jobs;

/// <summary>
/// The job as the server shows it (<c>GET /api/v1/jobs/{id}</c>), the members the CLI reads. Statuses stay strings: a
/// newer server's new status prints as it is instead of failing the client. <see cref="Json"/> is the whole view as
/// received, printed by <c>--output json</c> so that members this client does not know pass through.
/// </summary>
public sealed record JobView(
    string Id,
    string? Name,
    string? Owner,
    string Status,
    double? Performance,
    JobFailure? Failure,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<StageView>? Stages,
    long? ExitCode,
    IReadOnlyList<LintFinding>? Lint,
    ScanView? Scan,
    bool CacheHit,
    string? Agent,
    int Attempts)
{
    public JsonElement Json { get; init; }

    public bool IsTerminal => Status is "succeeded" or "failed" or "canceled";

    public TimeSpan? Duration => StartedAt is { } start && FinishedAt is { } end ? end - start : null;

    /// <summary>The stage now running, if any.</summary>
    public StageView? CurrentStage => Stages?.FirstOrDefault(s => s.Status == "running");
}

public sealed record JobFailure(string Reason, string Message);

public sealed record StageView(string Name, string Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    public TimeSpan? Duration => StartedAt is { } start && FinishedAt is { } end ? end - start : null;
}

public sealed record LintFinding(string Rule, int Line, string Severity, string Message);

public sealed record ScanView(string Status, int Packages, SeverityCounts? Findings);

public sealed record SeverityCounts(int Critical, int High, int Medium, int Low, int Unknown);

/// <summary>One page of <c>GET /api/v1/jobs</c>, newest first.</summary>
public sealed record JobPage(IReadOnlyList<JobView> Items, string? Next)
{
    public JsonElement Json { get; init; }
}
