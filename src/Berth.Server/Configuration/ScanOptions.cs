using System.ComponentModel.DataAnnotations;
using Berth.Scanner.Policy;
using Berth.Scanner.Severity;

namespace Berth.Server.Configuration;

/// <summary>Image scanning and its policy (section <c>Scan</c>).</summary>
public sealed class ScanOptions : IValidatableObject
{
    public const string Section = "Scan";

    /// <summary>Run the scan stage. When false the stage is skipped, visibly.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Advisory database folder; empty means <c>&lt;Berth:DataRoot&gt;/vulndb</c>.</summary>
    public string Database { get; set; } = "";

    /// <summary>Lowest severity that fails a job: <c>critical</c>, <c>high</c>, <c>medium</c>, <c>low</c> or <c>none</c>.</summary>
    [AllowedValues("critical", "high", "medium", "low", "none")]
    public string FailOn { get; set; } = "high";

    /// <summary>Findings with no released fix do not fail a job (they are still reported).</summary>
    public bool IgnoreUnfixed { get; set; } = true;

    /// <summary>A fixable finding of unknown severity fails a job.</summary>
    public bool UnknownSeverityFails { get; set; } = true;

    /// <summary>With no advisory database, fail jobs (<c>scan_failed</c>) instead of only warning.</summary>
    public bool RequireDatabase { get; set; }

    /// <summary>Warn in scan results when the database is older than this.</summary>
    [Range(1, 3650)]
    public int MaxDatabaseAgeDays { get; set; } = 7;

    /// <summary>Accepted advisories: id (or alias), reason, optional expiry date (yyyy-MM-dd).</summary>
    public List<IgnoreEntry> Ignore { get; set; } = [];

    public sealed class IgnoreEntry
    {
        public string Id { get; set; } = "";
        public string Reason { get; set; } = "";
        public DateOnly? Expires { get; set; }
    }

    public string DatabasePath(BerthOptions berth) => string.IsNullOrWhiteSpace(Database) ? Path.Combine(berth.DataRoot, "vulndb") : Database;

    public ScanPolicy Policy() => new(
        FailOn == "none" ? null : SeverityLevels.TryParse(FailOn, out var level) ? level : SeverityLevel.High,
        IgnoreUnfixed,
        UnknownSeverityFails,
        Ignore.Select(i => new IgnoreRule(i.Id, i.Reason, i.Expires)).ToList());

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < Ignore.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(Ignore[i].Id) || string.IsNullOrWhiteSpace(Ignore[i].Reason))
            {
                yield return new ValidationResult($"Scan:Ignore:{i} needs both an Id and a Reason.", [nameof(Ignore)]);
            }
        }
    }
}
