using Microsoft.Extensions.Logging;

namespace Berth.Server.Logging;

/// <summary>The API side of the fleet: claims, leases and their expiry (event ids 200-219).</summary>
internal static partial class Log
{
    [LoggerMessage(200, LogLevel.Information, "Job {JobId} claimed by agent {Agent} ({TokenName}), attempt {Attempt}, lease {LeaseToken}")]
    public static partial void JobClaimedByAgent(ILogger logger, string jobId, string agent, string? tokenName, int attempt, long leaseToken);

    [LoggerMessage(201, LogLevel.Warning, "Job {JobId}: a write with stale lease {LeaseToken} was refused ({What})")]
    public static partial void StaleLease(ILogger logger, string jobId, long leaseToken, string what);

    [LoggerMessage(202, LogLevel.Information, "Job {JobId} ended {Status} on agent {Agent}")]
    public static partial void JobResult(ILogger logger, string jobId, string status, string? agent);

    [LoggerMessage(203, LogLevel.Warning, "Job {JobId}: the lease of agent {Agent} ran out; {Outcome}")]
    public static partial void LeaseExpired(ILogger logger, string jobId, string? agent, string outcome);

    [LoggerMessage(204, LogLevel.Warning, "Looking for expired leases failed; trying again in {Seconds} s")]
    public static partial void LeaseSweepFailed(ILogger logger, int seconds, Exception exception);

    [LoggerMessage(205, LogLevel.Information, "Job {JobId} given back by agent {Agent}; queued again")]
    public static partial void JobGivenBack(ILogger logger, string jobId, string? agent);

    [LoggerMessage(206, LogLevel.Warning, "The job store is unavailable; answered 503")]
    public static partial void StoreUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(207, LogLevel.Information, "API only: jobs run on agents ({Provider} store, {Agents} agent tokens)")]
    public static partial void FleetMode(ILogger logger, string provider, int agents);
}
