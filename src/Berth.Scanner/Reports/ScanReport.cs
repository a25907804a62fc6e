using Berth.Scanner.Advisories;
using Berth.Scanner.Matching;
using Berth.Scanner.Packages;
using Berth.Scanner.Policy;
using Berth.Scanner.Severity;

namespace Berth.Scanner.Reports;

/// <summary>Finding counts by severity (ignored findings not counted).</summary>
public sealed record SeverityCounts(int Critical, int High, int Medium, int Low, int Unknown)
{
    public static SeverityCounts Of(ScanVerdict verdict) => new(
        verdict.Count(SeverityLevel.Critical), verdict.Count(SeverityLevel.High), verdict.Count(SeverityLevel.Medium),
        verdict.Count(SeverityLevel.Low), verdict.Count(SeverityLevel.Unknown));
}

/// <summary>
/// The advisory database a scan used: where it came from (<c>bundled</c>, an update URL, <c>import:…</c>),
/// its size, when it was installed, how old its data is, and where each ecosystem's data ends when known.
/// </summary>
public sealed record DatabaseInfo(
    string Source,
    int Records,
    int Skipped,
    DateTimeOffset? UpdatedAt,
    double? AgeDays,
    IReadOnlyDictionary<string, string>? DataUpTo,
    string? Warning)
{
    public static DatabaseInfo Of(AdvisoryDatabase db, DateTimeOffset now, int maxAgeDays)
    {
        var metadata = db.Metadata;
        double? age = (metadata.DataAsOf ?? metadata.UpdatedAt) is { } at ? Math.Max(0, Math.Round((now - at).TotalDays, 1)) : null;
        var refresh = "run `berth db update`, or `berth db import <osv-export>` where osv.dev cannot be reached";
        var warning = db.IsEmpty
            ? $"no advisory database is installed (Scan:Database): packages were listed but not checked; {refresh}"
            : age > maxAgeDays ? $"the advisory data ({metadata.Source}) is {age:0.#} days old; {refresh}"
            : age is null ? $"the advisory database's date is unknown (not written by berth); {refresh}"
            : null;
        return new DatabaseInfo(metadata.Source, db.Records, db.Skipped, metadata.UpdatedAt, age, metadata.DataUpTo, warning);
    }
}

/// <summary>One finding as reported: <see cref="SourcePackage"/> is "name version" of the source package when the advisory names it.</summary>
public sealed record ReportFinding(
    string AdvisoryId,
    IReadOnlyList<string> Aliases,
    string? Summary,
    string Package,
    string Type,
    string InstalledVersion,
    string? SourcePackage,
    string? FixedVersion,
    string Severity,
    double? CvssScore,
    FileLocation Location,
    string? Ignored,
    string? AdvisoryUrl = null,
    string? Evidence = null);

/// <summary>Everything a scan found, after policy: the body of <c>/report</c> and of <c>berth scan --format json</c>.</summary>
public sealed record ScanReport(
    string Image,
    Distro? Distro,
    DatabaseInfo Database,
    int Packages,
    SeverityCounts Findings,
    bool Failed,
    string FailOn,
    IReadOnlyList<ReportFinding> Details,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<string> Incomplete,
    Coverage.ReleaseCoverage? Coverage,
    ScanStats? Stats = null,
    IReadOnlyList<ImageSecret>? Secrets = null)
{
    public static ScanReport Create(string image, ScanResult result, ScanVerdict verdict, ScanPolicy policy, DatabaseInfo database) => new(
        image,
        result.Distro,
        database,
        result.Packages.Count,
        SeverityCounts.Of(verdict),
        verdict.Failed,
        policy.FailOn?.ToWire() ?? "none",
        verdict.Findings.Select(f => new ReportFinding(
            f.AdvisoryId, f.Aliases, f.Summary, f.Package.Name, f.Package.Type.ToWire(), f.Package.Version,
            f.MatchedName != f.Package.Name || f.InstalledVersion != f.Package.Version ? $"{f.MatchedName} {f.InstalledVersion}" : null,
            f.FixedVersion, f.Severity.ToWire(), f.CvssScore, f.Package.Location, f.Ignored, f.AdvisoryUrl,
            f.Package.Evidence == PackageEvidence.Lockfile ? "lockfile" : null)).ToList(),
        database.Warning is null ? result.Warnings : [.. result.Warnings, database.Warning],
        result.Problems,
        result.Coverage,
        Secrets: result.SecretsFound);

    /// <summary>One line for a job's failure message: counts and the worst failing findings.</summary>
    public static string FailureMessage(ScanVerdict verdict, ScanPolicy policy)
    {
        var worst = verdict.Failing.OrderByDescending(f => f.Severity).Take(3)
            .Select(f => $"{f.AdvisoryId} ({f.Severity.ToWire()}) in {f.Package.Name} {f.Package.Version}, fixed in {f.FixedVersion ?? "no release"}");
        var more = verdict.Failing.Count > 3 ? $"; and {verdict.Failing.Count - 3} more" : "";
        return $"{verdict.Failing.Count} finding(s) fail the policy (fail on {policy.FailOn?.ToWire() ?? "none"}" +
               $"{(policy.UnknownSeverityFails ? ", or unknown severity with a fix" : "")}): {string.Join("; ", worst)}{more}";
    }
}
