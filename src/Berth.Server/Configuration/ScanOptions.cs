using System.ComponentModel.DataAnnotations;
using Berth.Scanner;
using Berth.Scanner.Layers;
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

    /// <summary>
    /// With no advisory database, fail jobs (<c>scan_failed</c>) and report not ready. Berth installs its bundled
    /// snapshot where no database is, so a missing one is an operator error.
    /// </summary>
    public bool RequireDatabase { get; set; } = true;

    /// <summary>A package database the scan cannot read (a link, oversized, malformed, deleted beside its package manager) fails the job as <c>scan_incomplete</c>; false only warns.</summary>
    public bool IncompleteFails { get; set; } = true;

    /// <summary>An OS release the advisory database does not cover fails the job as <c>scan_incomplete</c>; false (the default) only warns.</summary>
    public bool UncoveredReleaseFails { get; set; }

    /// <summary>A scan that takes longer fails the job as <c>scan_failed</c>.</summary>
    [Range(5, 3600)]
    public int TimeoutSeconds { get; set; } = 120;

    /// <summary>Largest OS package database (dpkg status, apk installed) a scan reads; language metadata files are capped at the smaller of this and 4 MiB.</summary>
    [Range(1, 1024)]
    public int MaxFileMb { get; set; } = 64;

    /// <summary>Bytes of package files a scan keeps in all.</summary>
    [Range(1, 4096)]
    public int MaxTotalMb { get; set; } = 64;

    /// <summary>Files and directories a scan walks in all layers it reads.</summary>
    [Range(1000, 100_000_000)]
    public long MaxEntries { get; set; } = 2_000_000;

    /// <summary>Size cap of the per-layer scan cache (<c>&lt;Berth:DataRoot&gt;/scan-cache</c>); 0 turns the cache off.</summary>
    [Range(0, 65536)]
    public int CacheMb { get; set; } = 256;

    /// <summary>Secrets (private keys, cloud keys, API tokens) in files the job's own layers added: <c>fail</c> the job as <c>secrets_found</c>, <c>warn</c>, or <c>off</c> (not searched).</summary>
    [AllowedValues("fail", "warn", "off")]
    public string Secrets { get; set; } = "warn";

    /// <summary>When the engine is local and uses overlay2, read layers from its layer directories instead of the saved-image stream.</summary>
    public bool ReadLayerDirectories { get; set; } = true;

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

    public ScanSettings Settings() => new(
        Policy(),
        new ScanLimits(
            MaxDatabaseBytes: Units.Mebibytes(MaxFileMb),
            MaxMetadataBytes: Units.Mebibytes(Math.Min(MaxFileMb, 4)),
            MaxTotalBytes: Units.Mebibytes(MaxTotalMb),
            MaxEntries: MaxEntries),
        IncompleteFails,
        UncoveredReleaseFails,
        MaxDatabaseAgeDays,
        TimeSpan.FromSeconds(TimeoutSeconds),
        Secrets switch
        {
            "fail" => SecretsMode.Fail,
            "off" => SecretsMode.Off,
            _ => SecretsMode.Warn,
        });

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
