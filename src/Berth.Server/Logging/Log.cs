using Microsoft.Extensions.Logging;

namespace Berth.Server.Logging;

/// <summary>Every log line Berth writes about jobs. Job lines also carry JobId and CorrelationId in their scope.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Job {JobId} accepted ({Name})")]
    public static partial void JobAccepted(ILogger logger, string jobId, string? name);

    [LoggerMessage(2, LogLevel.Information, "Job {JobId} started attempt {Attempt}")]
    public static partial void JobStarted(ILogger logger, string jobId, int attempt);

    [LoggerMessage(3, LogLevel.Information, "Job {JobId} stage {Stage} started")]
    public static partial void StageStarted(ILogger logger, string jobId, string stage);

    [LoggerMessage(4, LogLevel.Information, "Job {JobId} succeeded with performance {Performance}")]
    public static partial void JobSucceeded(ILogger logger, string jobId, double? performance);

    [LoggerMessage(5, LogLevel.Information, "Job {JobId} failed: {Reason}: {Message}")]
    public static partial void JobFailed(ILogger logger, string jobId, string reason, string message);

    [LoggerMessage(6, LogLevel.Information, "Job {JobId} canceled")]
    public static partial void JobCanceled(ILogger logger, string jobId);

    [LoggerMessage(7, LogLevel.Error, "Job {JobId} failed with an internal error")]
    public static partial void JobCrashed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Job {JobId} clean-up failed")]
    public static partial void CleanupFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Job {JobId} was {Status} when the server stopped; re-queued")]
    public static partial void JobRequeued(ILogger logger, string jobId, string status);

    [LoggerMessage(10, LogLevel.Warning, "Job {JobId} was interrupted again; failed as interrupted")]
    public static partial void JobInterrupted(ILogger logger, string jobId);

    [LoggerMessage(11, LogLevel.Information, "Removed {Resource} left by job {JobId}")]
    public static partial void OrphanRemoved(ILogger logger, string resource, string jobId);

    [LoggerMessage(13, LogLevel.Error, "Worker loop error; retrying")]
    public static partial void WorkerError(ILogger logger, Exception exception);

    [LoggerMessage(14, LogLevel.Information, "Berth ready: {Workers} workers, runtime {Runtime}, instance {Instance}, data in {DataRoot}")]
    public static partial void Ready(ILogger logger, int workers, string runtime, string instance, string dataRoot);

    [LoggerMessage(15, LogLevel.Information, "Job {JobId} cancel requested")]
    public static partial void CancelRequested(ILogger logger, string jobId);

    [LoggerMessage(16, LogLevel.Warning, "Job {JobId}: could not delete its files")]
    public static partial void DeleteFilesFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(17, LogLevel.Warning, "No API keys are configured (Auth:Keys): authentication is off and Berth listens on loopback only ({Urls})")]
    public static partial void LoopbackOnly(ILogger logger, string urls);

    [LoggerMessage(18, LogLevel.Information, "Berth API only (Berth:Workers=0), data in {DataRoot}: no job runs here, none is recovered, and the janitor does not sweep")]
    public static partial void ApiOnly(ILogger logger, string dataRoot);

    [LoggerMessage(40, LogLevel.Critical, "No API keys are configured (Auth:Keys), but the server listens beyond loopback on {Addresses}; stopping. Configure Auth:Keys or listen on 127.0.0.1")]
    public static partial void ListeningBeyondLoopback(ILogger logger, string addresses);

    [LoggerMessage(41, LogLevel.Information, "Refused {Method} {Path} with {Status}: {Reason}")]
    public static partial void RequestRefused(ILogger logger, string method, string path, int status, string reason);

    [LoggerMessage(42, LogLevel.Warning, "Not ready: {Reason}: {Detail}")]
    public static partial void NotReady(ILogger logger, string reason, string detail, Exception? exception);

    [LoggerMessage(43, LogLevel.Warning, "Job {JobId}: no advisory database at {Folder} and Scan:RequireDatabase is set")]
    public static partial void ScanDatabaseMissing(ILogger logger, string jobId, string folder);

    [LoggerMessage(44, LogLevel.Warning, "Job {JobId}: the scan could not finish: {Reason}")]
    public static partial void ScanFailed(ILogger logger, string jobId, string reason, Exception? exception);

    [LoggerMessage(45, LogLevel.Information, "Installed the bundled advisory database in {Folder}: {Records} records ({Ecosystems})")]
    public static partial void BundledDatabaseInstalled(ILogger logger, string folder, int records, string ecosystems);

    [LoggerMessage(46, LogLevel.Error, "The bundled advisory database could not be installed in {Folder}; scans fail until `berth db update` or `berth db import` installs one")]
    public static partial void BundledDatabaseFailed(ILogger logger, string folder, Exception exception);

    [LoggerMessage(47, LogLevel.Information, "Job {JobId}: scanned {Packages} packages in {Seconds:0.000} s ({Reader}: {Read} layers read, {Cached} from the cache): {Decision}")]
    public static partial void Scanned(ILogger logger, string jobId, int packages, double seconds, string reader, int read, int cached, string decision);
}
