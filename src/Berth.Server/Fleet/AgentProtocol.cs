using Berth.Server.Jobs;

namespace Berth.Server.Fleet;

/// <summary>
/// The messages between agents and API servers (docs/fleet.md). JSON in <see cref="JobJson"/>'s shape. Every request
/// carries <c>Authorization: Bearer &lt;agent token&gt;</c>; every request about a claimed job carries its lease token
/// (in the body, or the <see cref="LeaseHeader"/> header for raw bodies). A stale lease is answered 409.
/// </summary>
public static class AgentProtocol
{
    public const string Prefix = "/api/v1/agent";

    /// <summary>The lease token of requests whose body is raw bytes (context, logs, files).</summary>
    public const string LeaseHeader = "Berth-Lease";

    /// <summary><c>POST</c> <see cref="ClaimRequest"/> → 200 <see cref="ClaimResponse"/>, or 204 when no job came within the wait.</summary>
    public const string Claim = Prefix + "/claim";

    /// <summary><c>GET</c> with <see cref="LeaseHeader"/> → the build context tar (entries plus the Dockerfile).</summary>
    public static string Context(string jobId) => $"{Prefix}/jobs/{jobId}/context";

    /// <summary><c>POST</c> <see cref="HeartbeatRequest"/> → 200 <see cref="HeartbeatResponse"/> or 409.</summary>
    public static string Heartbeat(string jobId) => $"{Prefix}/jobs/{jobId}/heartbeat";

    /// <summary><c>PUT</c> <c>?offset=N</c>, raw bytes, with <see cref="LeaseHeader"/> → 200 <see cref="LogAppendResponse"/>, 409 stale, 422 gap.</summary>
    public static string Log(string jobId, JobLog log) => $"{Prefix}/jobs/{jobId}/logs/{LogName(log)}";

    /// <summary><c>PUT</c> raw JSON with <see cref="LeaseHeader"/> → 204 or 409. Files: <c>scan-report</c>, <c>sbom</c>.</summary>
    public static string File(string jobId, JobFile file) => $"{Prefix}/jobs/{jobId}/files/{FileName(file)}";

    /// <summary><c>POST</c> <see cref="ResultRequest"/> → 204 (written, or already written with this token) or 409.</summary>
    public static string Result(string jobId) => $"{Prefix}/jobs/{jobId}/result";

    /// <summary><c>POST</c> <see cref="ReleaseRequest"/> → 204 (queued again, attempt not counted) or 409.</summary>
    public static string Release(string jobId) => $"{Prefix}/jobs/{jobId}/release";

    public static string LogName(JobLog log) => log == JobLog.Build ? "build" : "run";

    public static bool TryParseLog(string name, out JobLog log)
    {
        log = name == "run" ? JobLog.Run : JobLog.Build;
        return name is "build" or "run";
    }

    public static string FileName(JobFile file) => file switch
    {
        JobFile.ScanReport => "scan-report",
        JobFile.Sbom => "sbom",
        _ => throw new ArgumentOutOfRangeException(nameof(file), file, "agents upload only the scan report and the SBOM"),
    };

    public static bool TryParseFile(string name, out JobFile file)
    {
        file = name == "sbom" ? JobFile.Sbom : JobFile.ScanReport;
        return name is "scan-report" or "sbom";
    }
}

/// <param name="Agent">The agent's name (<c>--name</c>; shown as the job's <c>agent</c>): 1-64 of <c>[A-Za-z0-9._-]</c>.</param>
/// <param name="WaitSeconds">How long to wait for a job, 0-30 (capped by <c>Fleet:MaxClaimWaitSeconds</c> and by a third of the lease: a job claimed at the end of the wait still reaches the agent with two thirds of its lease left).</param>
public sealed record ClaimRequest(string Agent, int WaitSeconds);

/// <param name="Job">The job as claimed (status of the first stage, attempts counted, <c>agent</c> set).</param>
/// <param name="LeaseToken">Carried by every later request about this job.</param>
/// <param name="LeaseSeconds">Send a heartbeat well within this (every third of it).</param>
/// <param name="Dockerfile">The Dockerfile the job builds (also inside the context).</param>
/// <param name="ReconnectGraceSeconds">
/// <c>Fleet:ReconnectGraceSeconds</c>: after the database (re)starts, no lease expires for this long. A heartbeat that an
/// API server answers with 503 "Store unavailable" therefore keeps the lease until its send time plus this (0: it does not).
/// </param>
public sealed record ClaimResponse(Job Job, long LeaseToken, DateTimeOffset LeaseExpiresAt, int LeaseSeconds, string Dockerfile, int ReconnectGraceSeconds = 0);

/// <param name="Job">Progress to save (status, stages, image, lint, scan, cache hit), or null for a bare lease extension.</param>
public sealed record HeartbeatRequest(long LeaseToken, Job? Job);

/// <param name="Cancel">The user canceled the job: stop it, then send the canceled result.</param>
public sealed record HeartbeatResponse(bool Cancel, DateTimeOffset LeaseExpiresAt);

/// <param name="Length">The log's stored length after the append: the next chunk's offset.</param>
public sealed record LogAppendResponse(long Length);

/// <param name="Job">The terminal job: succeeded, failed or canceled, with its stages, performance, exit code, failure and scan summary.</param>
public sealed record ResultRequest(long LeaseToken, Job Job);

public sealed record ReleaseRequest(long LeaseToken);
