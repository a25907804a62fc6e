namespace Berth.Server.Jobs;

/// <summary>The stable failure reasons a job can end with. Documented in the README; never rename.</summary>
public static class FailureReasons
{
    public const string LintRejected = "lint_rejected";
    public const string BuildFailed = "build_failed";
    public const string BaseImageMissing = "base_image_missing";
    public const string BuildLimitExceeded = "build_limit_exceeded";
    public const string Vulnerable = "vulnerable";
    public const string ScanFailed = "scan_failed";
    public const string ScanIncomplete = "scan_incomplete";
    public const string SecretsFound = "secrets_found";
    public const string NonzeroExit = "nonzero_exit";
    public const string Timeout = "timeout";
    public const string OutOfMemory = "out_of_memory";
    public const string DataQuotaExceeded = "data_quota_exceeded";
    public const string PerfMissing = "perf_missing";
    public const string PerfInvalid = "perf_invalid";
    public const string Interrupted = "interrupted";
    public const string EngineError = "engine_error";
    public const string InternalError = "internal_error";

    /// <summary>The agent running the job stopped answering (died, or was cut off) on every attempt (<c>Fleet:MaxAttempts</c>).</summary>
    public const string WorkerLost = "worker_lost";

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        LintRejected, BuildFailed, BaseImageMissing, BuildLimitExceeded, Vulnerable, ScanFailed, ScanIncomplete, SecretsFound,
        NonzeroExit, Timeout, OutOfMemory, DataQuotaExceeded, PerfMissing, PerfInvalid, Interrupted, EngineError, InternalError, WorkerLost,
    };

    /// <summary>One of the reasons above (an agent's report may carry any text).</summary>
    public static bool IsKnown(string reason) => Known.Contains(reason);
}

/// <summary>Why a job failed: a stable <see cref="Reason"/> and a message a user can act on.</summary>
public sealed record JobFailure(string Reason, string Message);

/// <summary>Thrown by a pipeline stage to end the job as failed.</summary>
public sealed class JobFailedException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;

    public JobFailure ToFailure() => new(Reason, Message);
}
