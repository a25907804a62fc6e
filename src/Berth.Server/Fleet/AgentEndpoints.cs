using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Pipeline;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Berth.Server.Fleet;

/// <summary>
/// The agent side of the API (<see cref="AgentProtocol"/>; docs/fleet.md). Agents authenticate with their token and
/// every write about a job carries the lease token of its claim; a stale one is answered 409 and changes nothing.
/// </summary>
public static partial class AgentEndpoints
{
    /// <summary>Most bytes of one log chunk.</summary>
    public const int MaxLogChunk = 1024 * 1024;

    /// <summary>Most bytes of a JSON request (claim, heartbeat, result, release).</summary>
    public const int MaxJsonBody = 1024 * 1024;

    /// <summary>Most bytes of an uploaded result file (scan report, SBOM).</summary>
    public const int MaxResultFile = 64 * 1024 * 1024;

    /// <summary>While a claim waits, it looks again this often even without a notification.</summary>
    private static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(2);

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex JobId();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex AgentName();

    public static IEndpointRouteBuilder MapAgentEndpoints(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup(AgentProtocol.Prefix).WithTags("Agents").RequireAuthorization(AgentAuthentication.Policy).ExcludeFromDescription();
        // JSON bodies are small: a job's progress or result, never a file (those stream through the PUT routes).
        var json = new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxJsonBody);
        agents.MapPost("/claim", Claim).WithMetadata(json);
        agents.MapGet("/jobs/{id}/context", Context);
        agents.MapPost("/jobs/{id}/heartbeat", Heartbeat).WithMetadata(json);
        agents.MapPut("/jobs/{id}/logs/{log}", AppendLog);
        agents.MapPut("/jobs/{id}/files/{file}", PutFile);
        agents.MapPost("/jobs/{id}/result", Result).WithMetadata(json);
        agents.MapPost("/jobs/{id}/release", Release).WithMetadata(json);
        return app;
    }

    internal static async Task<Results<Ok<ClaimResponse>, NoContent, ProblemHttpResult>> Claim(
        ClaimRequest request, HttpContext http, IFleetStore fleet, IJobFiles files, JobPipeline pipeline, IOptions<FleetOptions> options,
        TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (request.Agent is null || !AgentName().IsMatch(request.Agent))
        {
            return Invalid("agent must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'", "agent");
        }
        if (request.WaitSeconds is < 0 or > 30)
        {
            return Invalid("waitSeconds must be between 0 and 30", "waitSeconds");
        }
        var fleetOptions = options.Value;
        var lease = TimeSpan.FromSeconds(fleetOptions.LeaseSeconds);
        var deadline = time.GetUtcNow() + ClaimWait(request.WaitSeconds, fleetOptions);
        while (true)
        {
            if (await fleet.ClaimAsync(request.Agent, pipeline.Stages[0].Status, lease, cancellationToken) is { } claimed)
            {
                Log.JobClaimedByAgent(loggers.CreateLogger("Berth.Fleet"), claimed.Job.Id, request.Agent, http.User.Identity?.Name, claimed.Job.Attempts, claimed.Token);
                await using var dockerfile = await files.OpenReadAsync(claimed.Job.Id, JobFile.Dockerfile, cancellationToken);
                using var reader = new StreamReader(dockerfile ?? Stream.Null);
                return TypedResults.Ok(new ClaimResponse(claimed.Job, claimed.Token, claimed.ExpiresAt, fleetOptions.LeaseSeconds,
                    await reader.ReadToEndAsync(cancellationToken), fleetOptions.ReconnectGraceSeconds));
            }
            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return TypedResults.NoContent();
            }
            await fleet.WaitForWorkAsync(left < RecheckInterval ? left : RecheckInterval, cancellationToken);
        }
    }

    /// <summary>
    /// How long a claim may wait for a job: what the agent asked, at most <c>Fleet:MaxClaimWaitSeconds</c> and at most a
    /// third of the lease. An agent counts its lease from when it sent the claim (it cannot know when the server claimed),
    /// so a job claimed at the end of a longer wait would reach it with its lease (nearly) run out: it would drop the job
    /// at once, and the job would be queued again (or fail as <c>worker_lost</c>) when that lease ran out.
    /// </summary>
    internal static TimeSpan ClaimWait(int requestedSeconds, FleetOptions options)
    {
        var wait = TimeSpan.FromSeconds(Math.Min(requestedSeconds, options.MaxClaimWaitSeconds));
        var third = TimeSpan.FromSeconds(options.LeaseSeconds) / 3;
        return wait < third ? wait : third;
    }

    internal static async Task<IResult> Context(string id, HttpContext http, IFleetStore fleet, IJobFiles files, CancellationToken cancellationToken)
    {
        if (!TryLease(http, out var token))
        {
            return MissingLease();
        }
        if (!JobId().IsMatch(id) || !await fleet.HoldsAsync(id, token, cancellationToken))
        {
            return Stale(http, id, token, "context");
        }
        var context = await files.OpenReadAsync(id, JobFile.Context, cancellationToken);
        return context is null
            ? TypedResults.Problem($"job {id} has no build context stored", statusCode: 404, title: "No context")
            : TypedResults.Stream(context, "application/x-tar");
    }

    internal static async Task<Results<Ok<HeartbeatResponse>, ProblemHttpResult>> Heartbeat(
        string id, HeartbeatRequest request, HttpContext http, IFleetStore fleet, JobPipeline pipeline, IOptions<FleetOptions> options, CancellationToken cancellationToken)
    {
        if (request.Job is { } progress && (progress.Id != id || !progress.Status.IsActive()))
        {
            return Invalid($"job must be job {id} in an active state (linting, building, scanning, running)", "job");
        }
        if (request.Job is { } checkedProgress && AgentJobCheck.Problem(checkedProgress, pipeline.InitialStages()) is { } problem)
        {
            return Invalid(problem, "job");
        }
        var renewal = JobId().IsMatch(id)
            ? await fleet.RenewAsync(id, request.LeaseToken, request.Job, TimeSpan.FromSeconds(options.Value.LeaseSeconds), cancellationToken)
            : LeaseRenewal.Stale;
        return renewal.Held
            ? TypedResults.Ok(new HeartbeatResponse(renewal.CancelRequested, renewal.ExpiresAt!.Value))
            : Stale(http, id, request.LeaseToken, "heartbeat");
    }

    internal static async Task<Results<Ok<LogAppendResponse>, ProblemHttpResult>> AppendLog(
        string id, string log, long? offset, HttpContext http, IFleetStore fleet, IOptions<Configuration.BerthOptions> options, CancellationToken cancellationToken)
    {
        if (!AgentProtocol.TryParseLog(log, out var which))
        {
            return TypedResults.Problem("the log is 'build' or 'run'", statusCode: 404, title: "Unknown log");
        }
        if (offset is not >= 0)
        {
            return Invalid("offset (query) must be the byte offset of this chunk, 0 or more", "offset");
        }
        if (!TryLease(http, out var token))
        {
            return MissingLease();
        }
        var data = await ReadBodyAsync(http, MaxLogChunk, cancellationToken);
        if (data is null)
        {
            return TooLarge(MaxLogChunk);
        }
        var append = JobId().IsMatch(id)
            ? await fleet.AppendLogAsync(id, token, which, offset.Value, data, options.Value.LogCapKb * 1024L, cancellationToken)
            : new LogAppend(LogAppendStatus.Stale, 0);
        return append.Status switch
        {
            LogAppendStatus.Appended => TypedResults.Ok(new LogAppendResponse(append.Length)),
            LogAppendStatus.Gap => TypedResults.Problem($"offset {offset} is past the end of the {log} log ({append.Length} bytes); send from {append.Length}",
                statusCode: 422, title: "Gap in the log", extensions: new Dictionary<string, object?> { ["length"] = append.Length }),
            _ => Stale(http, id, token, $"{log} log"),
        };
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> PutFile(
        string id, string file, HttpContext http, IFleetStore fleet, CancellationToken cancellationToken)
    {
        if (!AgentProtocol.TryParseFile(file, out var which))
        {
            return TypedResults.Problem("the file is 'scan-report' or 'sbom'", statusCode: 404, title: "Unknown file");
        }
        if (!TryLease(http, out var token))
        {
            return MissingLease();
        }
        var data = await ReadBodyAsync(http, MaxResultFile, cancellationToken);
        if (data is null)
        {
            return TooLarge(MaxResultFile);
        }
        if (!IsJson(data))
        {
            return Invalid($"the {file} must be one JSON document (nested at most 64 deep)", file);
        }
        return JobId().IsMatch(id) && await fleet.PutFileAsync(id, token, which, data, cancellationToken)
            ? TypedResults.NoContent()
            : Stale(http, id, token, file);
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> Result(
        string id, ResultRequest request, HttpContext http, IFleetStore fleet, JobPipeline pipeline, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (request.Job is not { } job || job.Id != id || !job.Status.IsTerminal())
        {
            return Invalid($"job must be job {id} in a final state (succeeded, failed, canceled)", "job");
        }
        if (AgentJobCheck.Problem(job, pipeline.InitialStages()) is { } problem)
        {
            return Invalid(problem, "job");
        }
        if (!JobId().IsMatch(id) || !await fleet.CompleteAsync(id, request.LeaseToken, job, cancellationToken))
        {
            return Stale(http, id, request.LeaseToken, "result");
        }
        Log.JobResult(loggers.CreateLogger("Berth.Fleet"), id, job.Status.ToWire(), job.Agent);
        return TypedResults.NoContent();
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> Release(
        string id, ReleaseRequest request, HttpContext http, IFleetStore fleet, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!JobId().IsMatch(id) || !await fleet.ReleaseAsync(id, request.LeaseToken, cancellationToken))
        {
            return Stale(http, id, request.LeaseToken, "release");
        }
        Log.JobGivenBack(loggers.CreateLogger("Berth.Fleet"), id, http.User.Identity?.Name);
        return TypedResults.NoContent();
    }

    /// <summary>Every API server parses a stored report when it is read: only well-formed JSON is stored.</summary>
    private static bool IsJson(byte[] data)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(data, new System.Text.Json.JsonDocumentOptions { MaxDepth = 64 });
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static bool TryLease(HttpContext http, out long token) =>
        long.TryParse(http.Request.Headers[AgentProtocol.LeaseHeader].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out token);

    /// <summary>The body, or null when it is longer than <paramref name="cap"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext http, int cap, CancellationToken cancellationToken)
    {
        if (http.Request.ContentLength > cap)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > cap)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static ProblemHttpResult Stale(HttpContext http, string id, long token, string what)
    {
        Log.StaleLease(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Berth.Fleet"), id, token, what);
        return TypedResults.Problem($"lease {token} of job {Ellipsis(id)} is not held any more (the lease ran out, the job was claimed again, or it ended); stop the job and clean up",
            statusCode: 409, title: "Stale lease");
    }

    private static string Ellipsis(string id) => Berth.Scanner.Ellipsis.Truncate(id, 64);

    private static ProblemHttpResult MissingLease() =>
        Invalid($"send the lease token of the claim in the {AgentProtocol.LeaseHeader} header", AgentProtocol.LeaseHeader);

    private static ProblemHttpResult TooLarge(int cap) =>
        TypedResults.Problem($"the body is larger than {cap} bytes", statusCode: 413, title: "Too large");

    private static ProblemHttpResult Invalid(string detail, string field) =>
        TypedResults.Problem(detail, statusCode: 400, title: "Invalid request", extensions: new Dictionary<string, object?> { ["field"] = field });
}
