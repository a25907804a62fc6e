using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Berth.Scanner.Reports;
using Berth.Server.Auth;
using Berth.Server.Configuration;
using Berth.Server.Errors;
using Berth.Server.Http;
using Berth.Server.Jobs;
using Berth.Server.Streams;
using Berth.Server.Submissions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Berth.Scanner;

namespace Berth.Server.Api;

/// <summary>The <c>/api/v1/jobs</c> resource.</summary>
public static partial class JobEndpoints
{
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex JobId();

    public static IEndpointRouteBuilder MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/v1/jobs").WithTags("Jobs").RequireAuthorization();
        // No .Accepts(): its content-type filter would answer 415 before the handler can say why.
        jobs.MapPost("/", Submit)
            .WithSummary("Submit a Dockerfile")
            .WithDescription("Three forms: a text/plain body holding the Dockerfile; application/json " +
                "{\"dockerfile\", \"name\", \"limits\": {\"timeoutSeconds\", \"memoryMb\", \"cpus\", \"dataMb\"}, \"cache\", \"callbackUrl\"}; or multipart/form-data " +
                "with a 'dockerfile' part, an optional 'context' part (.tar or .tar.gz), 'name', 'timeoutSeconds', 'memoryMb', 'cpus', 'dataMb', 'cache' and 'callbackUrl'. " +
                "A callbackUrl (its host must be in Webhooks:AllowedHosts) receives the job view, signed, when the job ends.")
            .DisableAntiforgery();
        jobs.MapGet("/", List).WithSummary("List jobs, newest first, with cursor paging");
        jobs.MapGet("/{id}", Get).WithSummary("One job: status, performance, failure, stages, lint findings");
        jobs.MapGet("/{id}/logs", Logs).WithSummary("Build log then run log, as text; ?follow=true streams it as it is written until the job ends");
        jobs.MapGet("/{id}/events", Events).WithSummary("Server-Sent Events: the job view now and at each change ('event: job'), then 'event: end' once it is terminal");
        jobs.MapGet("/{id}/report", Report).WithSummary("Lint findings and every scan finding (advisory, package, versions, severity, where found); ?format=sarif gives SARIF 2.1.0, ?format=cyclonedx the SBOM with vulnerabilities");
        jobs.MapGet("/{id}/sbom", Sbom).WithSummary("CycloneDX 1.5 JSON SBOM of the job's image");
        jobs.MapPost("/{id}/cancel", Cancel).WithSummary("Cancel a queued or active job");
        jobs.MapDelete("/{id}", Delete).WithSummary("Delete a finished job and its files");
        app.MapGroup("/api/v1").WithTags("Jobs").RequireAuthorization()
            .MapGet("/events", AllEvents).WithSummary("Server-Sent Events: the job view at every change of any job the caller may see ('event: job'), new submissions included; never ends");
        return app;
    }

    internal static async Task<Results<Accepted<JobView>, ProblemHttpResult>> Submit(
        HttpContext http, JobService service, IOptions<LimitsOptions> limits, CancellationToken cancellationToken)
    {
        try
        {
            await service.CheckRateAsync(Caller.From(http), cancellationToken);
            var submission = await SubmissionReader.ReadAsync(http.Request, limits.Value, cancellationToken);
            var job = await service.SubmitAsync(submission, Caller.From(http), CorrelationId.Of(http), cancellationToken);
            return TypedResults.Accepted($"/api/v1/jobs/{job.Id}", JobView.From(job));
        }
        catch (RequestRejectedException e)
        {
            return Problems.Rejected(http, e);
        }
    }

    internal static async Task<Results<Ok<JobView>, ProblemHttpResult>> Get(string id, HttpContext http, IJobStore store, CancellationToken cancellationToken) =>
        await Find(id, http, store, cancellationToken) is { } job ? TypedResults.Ok(JobView.From(job)) : NotFound(id);

    internal static async Task<Results<Ok<JobPage>, ProblemHttpResult>> List(
        HttpContext http, IJobStore store, string? status, int? limit, string? after, CancellationToken cancellationToken)
    {
        JobStatus? filter = null;
        if (status is not null)
        {
            if (!JobStatusExtensions.TryParseWire(status, out var parsed))
            {
                return TypedResults.Problem($"unknown status '{Ellipsis.Truncate(status, 64)}'; use one of {string.Join(", ", Enum.GetValues<JobStatus>().Select(s => s.ToWire()))}",
                    statusCode: 400, title: "Invalid query");
            }
            filter = parsed;
        }
        var size = limit ?? DefaultPageSize;
        if (size is < 1 or > MaxPageSize)
        {
            return TypedResults.Problem($"limit must be between 1 and {MaxPageSize}", statusCode: 400, title: "Invalid query");
        }
        if (after is not null && await Find(after, http, store, cancellationToken) is null)
        {
            return TypedResults.Problem($"cursor '{Ellipsis.Truncate(after, 64)}' is not a known job id", statusCode: 400, title: "Invalid query");
        }
        var caller = Caller.From(http);
        var jobs = await store.ListAsync(caller.IsAdmin ? null : caller.Owner, filter, size + 1, after, cancellationToken);
        var page = jobs.Take(size).Select(JobView.From).ToList();
        return TypedResults.Ok(new JobPage(page, jobs.Count > size ? page[^1].Id : null));
    }

    internal static async Task<Results<ContentHttpResult, FollowedLogResult, ProblemHttpResult>> Logs(
        string id, bool? follow, HttpContext http, IJobStore store, IJobFiles files, JobChanges changes, CancellationToken cancellationToken)
    {
        if (follow == true)
        {
            try
            {
                var (followed, subscription) = await FindSubscribedAsync(id, logs: true, http, store, changes, cancellationToken);
                return followed is null ? NotFound(id) : new FollowedLogResult(followed, subscription!);
            }
            catch (RequestRejectedException e)
            {
                return Problems.Rejected(http, e);
            }
        }
        if (await Find(id, http, store, cancellationToken) is null)
        {
            return NotFound(id);
        }
        var text = new StringBuilder();
        text.Append("==> build log <==\n").Append(await ReadTextAsync(files, id, JobFile.BuildLog, cancellationToken));
        text.Append("\n==> run log <==\n").Append(await ReadTextAsync(files, id, JobFile.RunLog, cancellationToken));
        return TypedResults.Text(text.ToString(), "text/plain; charset=utf-8");
    }

    internal static async Task<Results<JobEventsResult, ProblemHttpResult>> Events(
        string id, HttpContext http, IJobStore store, JobChanges changes, CancellationToken cancellationToken)
    {
        try
        {
            var (job, subscription) = await FindSubscribedAsync(id, logs: false, http, store, changes, cancellationToken);
            return job is null ? NotFound(id) : new JobEventsResult(job, Caller.From(http), subscription!);
        }
        catch (RequestRejectedException e)
        {
            return Problems.Rejected(http, e);
        }
    }

    internal static Results<JobEventsResult, ProblemHttpResult> AllEvents(HttpContext http, JobChanges changes)
    {
        var caller = Caller.From(http);
        try
        {
            return new JobEventsResult(null, caller, changes.Subscribe(null, logs: false, caller.Owner));
        }
        catch (RequestRejectedException e)
        {
            return Problems.Rejected(http, e);
        }
    }

    internal static async Task<Results<Ok<JsonObject>, ContentHttpResult, ProblemHttpResult>> Report(
        string id, string? format, HttpContext http, IJobStore store, IJobFiles files, CancellationToken cancellationToken)
    {
        if (format is not (null or "json" or "sarif" or "cyclonedx"))
        {
            return TypedResults.Problem("format is json (the default), sarif or cyclonedx", statusCode: 400, title: "Unknown report format");
        }
        if (await Find(id, http, store, cancellationToken) is not { } job)
        {
            return NotFound(id);
        }
        var scanReport = await ReadTextAsync(files, id, JobFile.ScanReport, cancellationToken);
        if (format is "sarif" or "cyclonedx")
        {
            var sbom = format == "cyclonedx" ? await ReadTextAsync(files, id, JobFile.Sbom, cancellationToken) : null;
            if (scanReport is null || (format == "cyclonedx" && sbom is null))
            {
                return TypedResults.Problem($"job {id} has no scan report: {NotScanned(job)}", statusCode: 404, title: "No scan report");
            }
            if (sbom is not null)
            {
                return TypedResults.Text(sbom, "application/vnd.cyclonedx+json; version=1.5");
            }
            var scan = JsonSerializer.Deserialize<ScanReport>(scanReport, JobJson.Options)!;
            return TypedResults.Text(Sarif.ToJson(scan), "application/sarif+json");
        }
        var report = new JsonObject
        {
            ["jobId"] = job.Id,
            ["status"] = job.Status.ToWire(),
            ["lint"] = JsonSerializer.SerializeToNode(job.Lint, JobJson.Options),
            ["scan"] = scanReport is null ? null : JsonNode.Parse(scanReport),
        };
        return TypedResults.Ok(report);
    }

    internal static async Task<Results<ContentHttpResult, ProblemHttpResult>> Sbom(
        string id, HttpContext http, IJobStore store, IJobFiles files, CancellationToken cancellationToken)
    {
        if (await Find(id, http, store, cancellationToken) is not { } job)
        {
            return NotFound(id);
        }
        return await ReadTextAsync(files, id, JobFile.Sbom, cancellationToken) is { } sbom
            ? TypedResults.Text(sbom, "application/vnd.cyclonedx+json; version=1.5")
            : TypedResults.Problem($"job {id} has no SBOM: {NotScanned(job)}", statusCode: 404, title: "No SBOM");
    }

    private static string NotScanned(Job job) =>
        job.Scan?.Status == ScanStatus.Skipped ? "the scan was skipped" : $"the job is {job.Status.ToWire()} and its image was not scanned";

    internal static async Task<Results<Accepted<JobView>, ProblemHttpResult>> Cancel(
        string id, HttpContext http, JobService service, CancellationToken cancellationToken)
    {
        try
        {
            var job = JobId().IsMatch(id) ? await service.CancelAsync(id, Caller.From(http), cancellationToken) : null;
            return job is null ? NotFound(id) : TypedResults.Accepted($"/api/v1/jobs/{id}", JobView.From(job));
        }
        catch (RequestRejectedException e)
        {
            return Problems.Rejected(http, e);
        }
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string id, HttpContext http, JobService service, CancellationToken cancellationToken)
    {
        try
        {
            var deleted = JobId().IsMatch(id) ? await service.DeleteAsync(id, Caller.From(http), cancellationToken) : null;
            return deleted is null ? NotFound(id) : TypedResults.NoContent();
        }
        catch (RequestRejectedException e)
        {
            return Problems.Rejected(http, e);
        }
    }

    /// <summary>The job, if it exists and the caller may see it (another owner's job is "not found").</summary>
    /// <summary>
    /// The job with a subscription to its changes made before it was read, so that no change falls between; null and no
    /// subscription when there is no such job. The subscription never outlives a failed read (an aborted request, an
    /// unreachable store): the feed would otherwise keep it for the life of the process.
    /// </summary>
    private static async Task<(Job? Job, JobChangeSubscription? Subscription)> FindSubscribedAsync(
        string id, bool logs, HttpContext http, IJobStore store, JobChanges changes, CancellationToken cancellationToken)
    {
        var subscription = changes.Subscribe(id, logs, Caller.From(http).Owner);
        try
        {
            if (await Find(id, http, store, cancellationToken) is { } job)
            {
                return (job, subscription);
            }
        }
        catch
        {
            subscription.Dispose();
            throw;
        }
        subscription.Dispose();
        return (null, null);
    }

    private static async Task<Job?> Find(string id, HttpContext http, IJobStore store, CancellationToken cancellationToken) =>
        JobId().IsMatch(id) && await store.GetAsync(id, cancellationToken) is { } job && Caller.From(http).CanSee(job) ? job : null;

    /// <summary>The file as UTF-8 text, or null when the job has none.</summary>
    private static async Task<string?> ReadTextAsync(IJobFiles files, string id, JobFile file, CancellationToken cancellationToken)
    {
        await using var stream = await files.OpenReadAsync(id, file, cancellationToken);
        if (stream is null)
        {
            return null;
        }
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(cancellationToken);
    }

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem($"no job with id '{Ellipsis.Truncate(id, 64)}'", statusCode: 404, title: "Job not found");

}
