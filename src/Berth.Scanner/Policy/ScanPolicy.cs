using Berth.Scanner.Matching;
using Berth.Scanner.Severity;

namespace Berth.Scanner.Policy;

/// <summary>An advisory a deployment accepts, with the reason and an optional expiry (UTC date, inclusive).</summary>
public sealed record IgnoreRule(string Id, string Reason, DateOnly? Expires);

/// <summary>
/// When a scan fails a job. <see cref="FailOn"/>: findings at or above this severity fail (null: never);
/// <see cref="IgnoreUnfixed"/>: findings with no known fix do not count; <see cref="UnknownSeverityFails"/>:
/// a fixable finding of unknown severity fails; <see cref="Ignore"/>: accepted advisories (id or alias).
/// </summary>
public sealed record ScanPolicy(SeverityLevel? FailOn, bool IgnoreUnfixed, bool UnknownSeverityFails, IReadOnlyList<IgnoreRule> Ignore)
{
    public static readonly ScanPolicy Default = new(SeverityLevel.High, IgnoreUnfixed: true, UnknownSeverityFails: true, []);

    /// <summary>The <see cref="Finding.Ignored"/> reason of a finding ignored because no fix is known.</summary>
    public const string NoFixReason = "no fix available";

    /// <summary>Marks ignored findings and decides.</summary>
    public ScanVerdict Evaluate(IReadOnlyList<Finding> findings, DateOnly today)
    {
        var marked = findings.Select(f => f with { Ignored = IgnoredBecause(f, today) }).ToList();
        var failing = marked.Where(f => f.Ignored is null && Fails(f)).ToList();
        return new ScanVerdict(failing.Count > 0, marked, failing);
    }

    private string? IgnoredBecause(Finding finding, DateOnly today)
    {
        var rule = Ignore.FirstOrDefault(r => (r.Expires is null || r.Expires >= today)
            && (string.Equals(r.Id, finding.AdvisoryId, StringComparison.OrdinalIgnoreCase)
                || finding.Aliases.Any(a => string.Equals(a, r.Id, StringComparison.OrdinalIgnoreCase))));
        if (rule is not null)
        {
            return $"ignored by policy: {rule.Reason}";
        }
        return IgnoreUnfixed && finding.FixedVersion is null ? NoFixReason : null;
    }

    private bool Fails(Finding finding) => finding.Severity switch
    {
        SeverityLevel.Unknown => UnknownSeverityFails && finding.FixedVersion is not null,
        var level => FailOn is { } threshold && level >= threshold && level != SeverityLevel.None,
    };
}

/// <summary>The decision, every finding (with <see cref="Finding.Ignored"/> set), and the ones that fail.</summary>
public sealed record ScanVerdict(bool Failed, IReadOnlyList<Finding> Findings, IReadOnlyList<Finding> Failing)
{
    public int Count(SeverityLevel level) => Findings.Count(f => f.Ignored is null && f.Severity == level);
}
