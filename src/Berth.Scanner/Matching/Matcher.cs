using System.Text.Json;
using Berth.Scanner.Advisories;
using Berth.Scanner.Packages;
using Berth.Scanner.Severity;
using Berth.Scanner.Versions;

namespace Berth.Scanner.Matching;

/// <summary>
/// Matches packages against advisories: <c>ECOSYSTEM</c> and <c>SEMVER</c> ranges (introduced, fixed,
/// last_affected, limit; events in any order) and the explicit <c>versions</c> list. <c>GIT</c> ranges
/// are ignored. OS packages are matched by source name and source version.
/// </summary>
public static class Matcher
{
    public static IReadOnlyList<Finding> Match(IEnumerable<Package> packages, AdvisoryDatabase database)
    {
        var findings = new List<Finding>();
        foreach (var package in packages)
        {
            if (package.Ecosystem is not { } ecosystem || VersionSchemes.For(ecosystem) is not { } scheme)
            {
                continue;
            }
            foreach (var (record, affected) in database.For(ecosystem, package.SourceName))
            {
                if (IsAffected(package.SourceVersion, affected, scheme, out var fixedVersion))
                {
                    var (severity, score) = Rate(record, affected);
                    findings.Add(new Finding(record.Id, record.Aliases ?? [], record.Summary, package, package.SourceName,
                        package.SourceVersion, fixedVersion, severity, score, AdvisoryUrl: record.AdvisoryUrl));
                }
            }
        }
        return findings
            .DistinctBy(f => (f.AdvisoryId, f.Package.Name, f.Package.Version, f.Package.Location.Path))
            .OrderByDescending(f => f.Severity).ThenBy(f => f.AdvisoryId, StringComparer.Ordinal).ThenBy(f => f.Package.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Whether <paramref name="version"/> is affected; <paramref name="fixedVersion"/> is the lowest fix above it.</summary>
    public static bool IsAffected(string version, OsvAffected affected, IVersionScheme scheme, out string? fixedVersion)
    {
        fixedVersion = null;
        var hit = affected.Versions?.Any(v => v == version || scheme.Compare(v, version) == 0) == true;
        foreach (var range in affected.Ranges ?? [])
        {
            if (range.Type is not ("ECOSYSTEM" or "SEMVER") || range.Events is not { Count: > 0 } events)
            {
                continue;
            }
            if (InRange(version, events, scheme))
            {
                hit = true;
                var fix = events
                    .Where(e => !string.IsNullOrEmpty(e.Fixed) && scheme.Compare(e.Fixed!, version) > 0)
                    .Select(e => e.Fixed!)
                    .OrderBy(f => f, Comparer<string>.Create(scheme.Compare))
                    .FirstOrDefault();
                if (fix is not null && (fixedVersion is null || scheme.Compare(fix, fixedVersion) < 0))
                {
                    fixedVersion = fix;
                }
            }
        }
        return hit;
    }

    /// <summary>OSV's evaluation: walk the events in version order; introduced opens, fixed and last_affected close.</summary>
    private static bool InRange(string version, IReadOnlyList<OsvEvent> events, IVersionScheme scheme)
    {
        var limits = events.Where(e => !string.IsNullOrEmpty(e.Limit)).Select(e => e.Limit!).ToList();
        if (limits.Count > 0 && limits.All(l => l != "*" && scheme.Compare(version, l) >= 0))
        {
            return false; // at or above every limit
        }
        var ordered = events
            .Select(e => (Event: e, Version: e.Introduced ?? e.Fixed ?? e.LastAffected))
            .Where(e => e.Version is not null && string.IsNullOrEmpty(e.Event.Limit))
            .OrderBy(e => e, Comparer<(OsvEvent Event, string? Version)>.Create((x, y) =>
            {
                var xZero = x.Event.Introduced == "0";
                var yZero = y.Event.Introduced == "0";
                return xZero || yZero ? (yZero ? 1 : 0) - (xZero ? 1 : 0) : scheme.Compare(x.Version!, y.Version!);
            }))
            .ToList();
        var affected = false;
        foreach (var (e, _) in ordered)
        {
            if (e.Introduced is { } introduced)
            {
                if (introduced == "0" || scheme.Compare(version, introduced) >= 0)
                {
                    affected = true;
                }
            }
            else if (e.Fixed is { } fix)
            {
                if (scheme.Compare(version, fix) >= 0)
                {
                    affected = false;
                }
            }
            else if (e.LastAffected is { } last && scheme.Compare(version, last) > 0)
            {
                affected = false;
            }
        }
        return affected;
    }

    /// <summary>CVSS v3 vectors (affected, then record) → base score; else <c>database_specific.severity</c>; else unknown.</summary>
    public static (SeverityLevel Level, double? Score) Rate(OsvRecord record, OsvAffected affected)
    {
        var vectors = (affected.Severity ?? []).Concat(record.Severity ?? [])
            .Where(s => s.Type is "CVSS_V3" && !string.IsNullOrEmpty(s.Score))
            .Select(s => Cvss3.BaseScore(s.Score))
            .Where(s => s is not null)
            .ToList();
        if (vectors.Count > 0)
        {
            var score = vectors.Max()!.Value;
            return (SeverityLevels.FromScore(score), score);
        }
        foreach (var specific in new[] { affected.DatabaseSpecific, record.DatabaseSpecific, affected.EcosystemSpecific })
        {
            if (specific is { ValueKind: JsonValueKind.Object } obj && obj.TryGetProperty("severity", out var text)
                && text.ValueKind == JsonValueKind.String && SeverityLevels.FromText(text.GetString()) is { } level)
            {
                return (level, null);
            }
        }
        return (SeverityLevel.Unknown, null);
    }
}
