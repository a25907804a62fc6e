using Berth.Server.Jobs;

namespace Berth.Server.Fleet;

/// <summary>A job claimed by an agent: the job as claimed, and the lease every later write must carry.</summary>
/// <param name="Token">Strictly greater than every token handed out before (a database sequence).</param>
/// <param name="ExpiresAt">By the database clock.</param>
public sealed record Lease(Job Job, long Token, DateTimeOffset ExpiresAt);

/// <summary>The answer to a heartbeat. <see cref="Held"/> false: the token is stale (another claim, expiry, or the job ended).</summary>
public sealed record LeaseRenewal(bool Held, bool CancelRequested, DateTimeOffset? ExpiresAt)
{
    public static readonly LeaseRenewal Stale = new(false, false, null);
}

/// <summary>The two logs an agent streams, in chunks.</summary>
public enum JobLog
{
    Build,
    Run,
}

/// <summary>The outcome of appending a log chunk.</summary>
public enum LogAppendStatus
{
    /// <summary>Appended (or already there: a retried chunk is not written twice).</summary>
    Appended,

    /// <summary>The lease token is stale.</summary>
    Stale,

    /// <summary>The chunk starts past the end of the log: an earlier chunk is missing.</summary>
    Gap,
}

/// <param name="Length">The log's length in bytes after the append (as stored; the cap may have cut it).</param>
public sealed record LogAppend(LogAppendStatus Status, long Length);

/// <summary>A lease that ran out: the job was re-queued (another attempt) or failed as <c>worker_lost</c>.</summary>
public sealed record ExpiredLease(string JobId, string? Agent, bool Requeued);

/// <summary>
/// The lease protocol's state, in the shared database (PostgreSQL). Every write that comes from an agent carries the
/// lease token of its claim and is refused when that token is no longer the job's current one. All times are the
/// database's clock.
/// </summary>
public interface IFleetStore
{
    /// <summary>
    /// Claims the oldest queued job (<c>FOR UPDATE SKIP LOCKED</c>): status <paramref name="firstStatus"/>, attempts + 1,
    /// <c>agent</c> = <paramref name="agent"/>, started now, a new lease token, lease until now + <paramref name="lease"/>,
    /// cancel flag cleared. Null when nothing is queued.
    /// </summary>
    Task<Lease?> ClaimAsync(string agent, JobStatus firstStatus, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Waits until a job may have been queued (a notification from any API server) or <paramref name="timeout"/>
    /// passes. True when woken by a notification. Callers claim again either way.
    /// </summary>
    Task<bool> WaitForWorkAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// Extends a held lease to now + <paramref name="lease"/> and, when <paramref name="progress"/> is given, saves the
    /// agent's progress (status, stages, image, lint, scan, cache hit; never owner, limits, name or times of creation).
    /// Stale when the token is not the job's current one or the job is no longer active.
    /// </summary>
    Task<LeaseRenewal> RenewAsync(string jobId, long token, Job? progress, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>True while <paramref name="token"/> is the current lease of an active job (and the lease has not run out).</summary>
    Task<bool> HoldsAsync(string jobId, long token, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the terminal result once and ends the lease. False when the token is stale. A retry with the same token after
    /// it was written returns true and changes nothing.
    /// </summary>
    Task<bool> CompleteAsync(string jobId, long token, Job result, CancellationToken cancellationToken);

    /// <summary>
    /// Gives a job back (the agent is stopping): queued again, this attempt not counted. False when the token is stale.
    /// </summary>
    Task<bool> ReleaseAsync(string jobId, long token, CancellationToken cancellationToken);

    /// <summary>
    /// Appends <paramref name="data"/> at byte <paramref name="offset"/> of a job's log. Bytes already stored at that offset
    /// are not written again (an idempotent retry); the log stops growing at <paramref name="cap"/> bytes.
    /// </summary>
    Task<LogAppend> AppendLogAsync(string jobId, long token, JobLog stream, long offset, ReadOnlyMemory<byte> data, long cap, CancellationToken cancellationToken);

    /// <summary>Stores one of a job's result files (scan report, SBOM) under a held lease. False when the token is stale.</summary>
    Task<bool> PutFileAsync(string jobId, long token, JobFile file, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Ends every lease whose time ran out by the database clock, but never within <paramref name="reconnectGrace"/> of
    /// the database's own start (a restarted PostgreSQL does not expire the leases of agents that could not reach it).
    /// A job with fewer than <paramref name="maxAttempts"/> attempts is queued again; the others fail as <c>worker_lost</c>.
    /// </summary>
    Task<IReadOnlyList<ExpiredLease>> ExpireLeasesAsync(int maxAttempts, TimeSpan reconnectGrace, CancellationToken cancellationToken);

    /// <summary>Flags an active job for cancellation; its agent learns it on the next heartbeat. False when it is not active.</summary>
    Task<bool> RequestCancelAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>
    /// Counts one submission of <paramref name="owner"/> in the current minute, across every API server. Returns the
    /// time to wait when the owner already made <paramref name="perMinute"/> this minute (nothing counted), else null.
    /// </summary>
    Task<TimeSpan?> TryCountSubmissionAsync(string owner, int perMinute, CancellationToken cancellationToken);
}
