using System.Text.Json.Nodes;
using Berth.Scanner.Reports;
using Berth.Server.Dashboard;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;

namespace Berth.Server.Api;

/// <summary>
/// The example of every operation in the OpenAPI document, keyed <c>METHOD /path</c> as routed. Job views are made
/// by <see cref="JobView.From"/> from sample jobs, so they always have the shape the API answers with.
/// </summary>
internal static class ApiExamples
{
    private const string Id = "0193b2c4d5e67f80a1b2c3d4e5f60718";
    private const string Json = "application/json";
    private const string Problem = "application/problem+json";
    private const string Text = "text/plain";
    private const string EventStream = "text/event-stream";

    private static readonly DateTimeOffset Created = new(2026, 3, 1, 9, 30, 0, TimeSpan.Zero);

    private const string Dockerfile = "FROM python:3.12-slim\nCOPY solve.py /app/solve.py\nUSER 1000\nCMD [\"python\", \"/app/solve.py\"]\n";

    private static readonly Job Queued = new(Id, 42, "sorting-v2", JobStatus.Queued, new JobLimits(120, 512, 1, 64), "c0ffee00c0ffee00", Created,
        null, null, null, null, new[] { "lint", "build", "scan", "run", "collect" }.Select(s => new StageState(s, StageStatus.Pending, null, null)).ToList(),
        null, null, [], 0, Owner: "alice");

    private static readonly Job Succeeded = Queued with
    {
        Status = JobStatus.Succeeded,
        StartedAt = Created.AddSeconds(1),
        FinishedAt = Created.AddSeconds(48),
        Performance = 1.5,
        ExitCode = 0,
        ImageId = "sha256:5b1f0c3e9d2a47c1b8e6f4a2d0c9b7e5a3f1d8c6b4a2e0f9d7c5b3a1e8f6d4c2",
        Attempts = 1,
        Stages =
        [
            new("lint", StageStatus.Succeeded, Created.AddSeconds(1), Created.AddSeconds(1.1)),
            new("build", StageStatus.Succeeded, Created.AddSeconds(1.1), Created.AddSeconds(31)),
            new("scan", StageStatus.Succeeded, Created.AddSeconds(31), Created.AddSeconds(35)),
            new("run", StageStatus.Succeeded, Created.AddSeconds(35), Created.AddSeconds(47.5)),
            new("collect", StageStatus.Succeeded, Created.AddSeconds(47.5), Created.AddSeconds(48)),
        ],
        Lint = [new LintFinding("unpinned-base-image", 1, LintSeverity.Warning, "pin the base image by digest (python:3.12-slim@sha256:...) so rebuilds are reproducible")],
        Scan = new ScanSummary(ScanStatus.Passed, 38, new SeverityCounts(0, 0, 2, 5, 0), 3.2, [],
            new ScanDatabaseSummary("bundled", 41230, 3.2)),
    };

    private static readonly Job Canceled = Queued with
    {
        Status = JobStatus.Canceled,
        FinishedAt = Created.AddSeconds(5),
        Stages = Queued.Stages.Select(s => s with { Status = StageStatus.Skipped }).ToList(),
    };

    private static readonly Dictionary<string, OperationExamples> Examples = new(StringComparer.Ordinal)
    {
        ["POST /api/v1/jobs"] = new(
            new Dictionary<string, JsonNode>
            {
                [Json] = ApiDocs.Json(new { dockerfile = Dockerfile, name = "sorting-v2", limits = new { timeoutSeconds = 120, memoryMb = 512, cpus = 1, dataMb = 64 }, callbackUrl = "https://hooks.example.com/berth" }),
                [Text] = JsonValue.Create(Dockerfile),
            },
            Responses(("202", "Accepted: the job is queued; Location is its URL", Json, View(Queued)),
                ("422", "The submission breaks a rule or a limit", Problem, ProblemJson(422, "Invalid submission", "limits.memoryMb 8192 exceeds the server maximum of 2048", "limits.memoryMb")))),
        ["GET /api/v1/jobs"] = new(null,
            Responses(("200", "A page of jobs, newest first; next is the cursor for ?after=", Json, ApiDocs.Json(new JobPage([JobView.From(Succeeded)], Id))))),
        ["GET /api/v1/jobs/{id}"] = new(null,
            Responses(("200", "The job", Json, View(Succeeded)), NotFound())),
        ["GET /api/v1/jobs/{id}/logs"] = new(null,
            Responses(("200", "The build log, then the run log; with ?follow=true the response goes on as the log is written and ends when the job ends", Text,
                JsonValue.Create("==> build log <==\nStep 1/4 : FROM python:3.12-slim\nStep 2/4 : COPY solve.py /app/solve.py\n...\nSuccessfully built 5b1f0c3e9d2a\n\n==> run log <==\nsorted 1000000 keys in 1.5 s\n")),
                NotFound())),
        ["GET /api/v1/jobs/{id}/events"] = new(null,
            Responses(("200", "Server-Sent Events: the job's state at once, one 'job' event per change, then 'end' once it has finished", EventStream,
                JsonValue.Create($"event: job\nid: 1\ndata: {View(Queued).ToJsonString()}\n\nevent: job\nid: 2\ndata: {View(Succeeded).ToJsonString()}\n\nevent: end\ndata: {{}}\n\n")),
                NotFound())),
        ["GET /api/v1/events"] = new(null,
            Responses(("200", "Server-Sent Events: one 'job' event per change to any job the caller may see; never ends by itself", EventStream,
                JsonValue.Create($"event: job\nid: 1\ndata: {View(Queued).ToJsonString()}\n\n: keep-alive\n\n")))),
        ["GET /api/v1/jobs/{id}/report"] = new(null,
            Responses(("200", "Lint findings and every scan finding (?format=sarif: SARIF 2.1.0; ?format=cyclonedx: the SBOM with vulnerabilities)", Json,
                new JsonObject
                {
                    ["jobId"] = Id,
                    ["status"] = "succeeded",
                    ["lint"] = ApiDocs.Json(Succeeded.Lint),
                    ["scan"] = new JsonObject
                    {
                        ["packages"] = 38,
                        ["findings"] = new JsonArray(new JsonObject
                        {
                            ["advisoryId"] = "CVE-2025-0001", ["package"] = "libexample1", ["installed"] = "1.2.3-1", ["fixed"] = "1.2.3-2",
                            ["severity"] = "medium", ["location"] = "/var/lib/dpkg/status",
                        }),
                    },
                }),
                NotFound())),
        ["GET /api/v1/jobs/{id}/sbom"] = new(null,
            Responses(("200", "CycloneDX 1.5 JSON SBOM of the job's image", "application/vnd.cyclonedx+json",
                new JsonObject
                {
                    ["bomFormat"] = "CycloneDX",
                    ["specVersion"] = "1.5",
                    ["components"] = new JsonArray(new JsonObject { ["type"] = "library", ["name"] = "python3.12", ["version"] = "3.12.8-1", ["purl"] = "pkg:deb/debian/python3.12@3.12.8-1" }),
                }),
                ("404", "No such job, or it was not scanned", Problem, ProblemJson(404, "No SBOM", $"job {Id} has no SBOM: the job is failed and its image was not scanned", null)))),
        ["POST /api/v1/jobs/{id}/cancel"] = new(null,
            Responses(("202", "Accepted: a queued job is canceled at once; an active one stops shortly", Json, View(Canceled)),
                NotFound(),
                ("409", "The job already finished", Problem, ProblemJson(409, "Conflict", $"job {Id} already finished (succeeded)", null)))),
        ["DELETE /api/v1/jobs/{id}"] = new(null,
            Responses(("204", "Deleted with its files", null, null),
                NotFound(),
                ("409", "The job is still queued or active", Problem, ProblemJson(409, "Conflict", $"job {Id} is running; only finished jobs can be deleted (cancel it first)", null)))),
        ["GET /api/v1/leaderboard"] = new(null,
            Responses(("200", "Succeeded jobs with a name, grouped by name, best performance first; history oldest first", Json,
                ApiDocs.Json(new Leaderboard(
                [
                    new LeaderboardItem("sorting-v2", new LeaderboardEntry(Id, 1.5, Created.AddSeconds(48)), 2,
                        [new LeaderboardEntry("0193b2c4d5e67f80a1b2c3d4e5f60700", 1.1, Created.AddHours(-16)), new LeaderboardEntry(Id, 1.5, Created.AddSeconds(48))]),
                ], 2))))),
        ["GET /healthz"] = new(null, Responses(("200", "The process answers", Json, new JsonObject { ["status"] = "alive" }))),
        ["GET /readyz"] = new(null,
            Responses(("200", "Ready: the engine, the store and the data root answer", Json,
                    new JsonObject { ["status"] = "ready", ["database"] = new JsonObject { ["source"] = "bundled", ["records"] = 41230, ["ageDays"] = 3.2 } }),
                ("503", "Not ready, with the reasons", Problem, new JsonObject
                {
                    ["title"] = "Not ready", ["status"] = 503, ["detail"] = "not ready: engine_unreachable (the server log has the details)",
                    ["reasons"] = new JsonArray("engine_unreachable"),
                }))),
    };

    /// <summary>The examples of the operation <paramref name="key"/> (<c>GET /api/v1/jobs/{id}</c>), or null when it has none.</summary>
    public static OperationExamples? For(string key) => Examples.GetValueOrDefault(key);

    private static JsonNode View(Job job) => ApiDocs.Json(JobView.From(job));

    private static (string Status, string Description, string? MediaType, JsonNode? Example) NotFound() =>
        ("404", "No job with this id that the caller may see", Problem, ProblemJson(404, "Job not found", $"no job with id '{Id}'", null));

    private static JsonObject ProblemJson(int status, string title, string detail, string? field)
    {
        var problem = new JsonObject { ["title"] = title, ["status"] = status, ["detail"] = detail };
        if (field is not null)
        {
            problem["field"] = field;
        }
        return problem;
    }

    private static Dictionary<string, ResponseExample> Responses(params (string Status, string Description, string? MediaType, JsonNode? Example)[] responses) =>
        responses.ToDictionary(r => r.Status, r => new ResponseExample(r.Description, r.MediaType, r.Example), StringComparer.Ordinal);
}
