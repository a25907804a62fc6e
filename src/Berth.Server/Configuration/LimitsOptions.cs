using System.ComponentModel.DataAnnotations;

namespace Berth.Server.Configuration;

/// <summary>Per-job limits (section <c>Limits</c>): defaults a job gets and maxima a job may ask for.</summary>
public sealed class LimitsOptions : IValidatableObject
{
    public const string Section = "Limits";

    [Range(1, 7 * 24 * 3600)] public int DefaultTimeoutSeconds { get; set; } = 600;
    [Range(1, 7 * 24 * 3600)] public int MaxTimeoutSeconds { get; set; } = 3600;
    [Range(MinMemoryMb, 1024 * 1024)] public int DefaultMemoryMb { get; set; } = 512;
    [Range(MinMemoryMb, 1024 * 1024)] public int MaxMemoryMb { get; set; } = 4096;
    [Range(0.01, 1024)] public double DefaultCpus { get; set; } = 1;
    [Range(0.01, 1024)] public double MaxCpus { get; set; } = 2;

    /// <summary>Most processes/threads a job container may have.</summary>
    [Range(8, 1_000_000)] public int PidsLimit { get; set; } = 256;

    /// <summary>Size of the tmpfs mounted at /tmp.</summary>
    [Range(1, 64 * 1024)] public int TmpMb { get; set; } = 64;

    /// <summary>Largest file a job may write (RLIMIT_FSIZE).</summary>
    [Range(1, 1024 * 1024)] public int FileSizeMb { get; set; } = 256;

    /// <summary>Most open files per process (RLIMIT_NOFILE).</summary>
    [Range(16, 1_048_576)] public int OpenFiles { get; set; } = 1024;

    /// <summary>Size of each job's /data filesystem (a per-job quota), and the most a job may ask for.</summary>
    [Range(MinDataMb, 1024 * 1024)] public int DataMb { get; set; } = 256;

    public const int MinDataMb = 4;

    /// <summary>Largest build context, both as uploaded and unpacked.</summary>
    [Range(1, 64 * 1024)] public int MaxContextMb { get; set; } = 100;

    /// <summary>Largest unpacked/compressed size ratio of a gzipped context over 1 MiB unpacked (zip-bomb guard).</summary>
    [Range(2, 100_000)] public int MaxCompressionRatio { get; set; } = 100;

    /// <summary>Most entries in a build context archive.</summary>
    [Range(1, 10_000_000)] public int MaxContextFiles { get; set; } = 20_000;

    /// <summary>Seconds between SIGTERM and SIGKILL when a running job is canceled.</summary>
    [Range(0, 300)] public int KillGraceSeconds { get; set; } = 5;

    /// <summary>Live streams (events, followed logs) one owner may hold open on one server; beyond it 429 (clients fall back to polling).</summary>
    [Range(1, 100_000)] public int MaxStreamsPerOwner { get; set; } = 100;

    public const int MinMemoryMb = 16;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DefaultTimeoutSeconds > MaxTimeoutSeconds)
        {
            yield return new ValidationResult("Limits:DefaultTimeoutSeconds must not exceed Limits:MaxTimeoutSeconds.", [nameof(DefaultTimeoutSeconds)]);
        }
        if (DefaultMemoryMb > MaxMemoryMb)
        {
            yield return new ValidationResult("Limits:DefaultMemoryMb must not exceed Limits:MaxMemoryMb.", [nameof(DefaultMemoryMb)]);
        }
        if (DefaultCpus > MaxCpus)
        {
            yield return new ValidationResult("Limits:DefaultCpus must not exceed Limits:MaxCpus.", [nameof(DefaultCpus)]);
        }
    }
}
