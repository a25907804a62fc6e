using Berth.Scanner.Reports;
using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Scanning;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Berth.Server.Http;

/// <summary>
/// <c>/healthz</c>: the process answers. <c>/readyz</c>: the engine answers and has the sandbox runtime, and the store
/// and data root take writes (an API-only server, <c>Berth:Workers=0</c>, checks only the store and the data root). Both are unauthenticated, so a failure says only its reason's name; the server log
/// has the details (paths, the engine address, the exception).
/// </summary>
public static class HealthEndpoints
{
    public const string EngineUnreachable = "engine_unreachable";
    public const string RuntimeMissing = "runtime_missing";
    public const string StoreUnwritable = "store_unwritable";
    public const string DataRootUnwritable = "data_root_unwritable";
    public const string ScanDatabaseMissing = "scan_database_missing";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary><see cref="Database"/>: the advisory database scans use (source, records, age in days), when scanning is on.</summary>
    public sealed record Health(string Status, ScanDatabaseSummary? Database = null);

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new Health("alive"))).WithTags("Health");
        app.MapGet("/readyz", Ready).WithTags("Health");
        return app;
    }

    internal static async Task<Results<Ok<Health>, ProblemHttpResult>> Ready(
        IContainerEngine engine, IJobStore store, IOptions<BerthOptions> options, IOptions<SandboxOptions> sandbox,
        IOptions<ScanOptions> scan, AdvisoryDatabaseProvider databases, TimeProvider time,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ScanDatabaseSummary? database = null;
        var logger = loggers.CreateLogger("Berth.Health");
        var berth = options.Value;
        var runtime = sandbox.Value.Runtime;
        var runsJobs = berth.Workers > 0; // an API-only server (agents run the jobs) needs neither an engine nor the advisory database
        var reasons = (await Task.WhenAll(
            !runsJobs ? Task.FromResult<string?>(null) : ProbeAsync(EngineUnreachable, $"the Docker engine at {berth.DockerEndpoint} does not answer", logger, async token =>
            {
                await engine.PingAsync(token);
                if ((await engine.InfoAsync(token)).Runtimes.ContainsKey(runtime))
                {
                    return null;
                }
                Log.NotReady(logger, RuntimeMissing, $"the engine has no '{runtime}' runtime (Sandbox:Runtime); register it in the daemon's \"runtimes\"", null);
                return RuntimeMissing;
            }, cancellationToken),
            ProbeAsync(StoreUnwritable, $"the job store {berth.DatabasePath} does not take writes", logger, async token =>
            {
                await store.CheckWritableAsync(token);
                return null;
            }, cancellationToken),
            ProbeAsync(ScanDatabaseMissing, $"no advisory database in {databases.Folder} (Scan:RequireDatabase)", logger, async token =>
            {
                if (!scan.Value.Enabled || !runsJobs)
                {
                    return null;
                }
                var db = await databases.GetAsync(token);
                database = ScanDatabaseSummary.Of(DatabaseInfo.Of(db, time.GetUtcNow(), scan.Value.MaxDatabaseAgeDays));
                if (db.IsEmpty && scan.Value.RequireDatabase)
                {
                    Log.NotReady(logger, ScanDatabaseMissing, $"no advisory database in {databases.Folder}; run `berth db update` or `berth db import`", null);
                    return ScanDatabaseMissing;
                }
                return null;
            }, cancellationToken),
            ProbeAsync(DataRootUnwritable, $"the data root {berth.DataRoot} does not take writes", logger, async token =>
            {
                var probe = Path.Combine(berth.DataRoot, ".ready-probe");
                await File.WriteAllTextAsync(probe, "ok", token);
                File.Delete(probe);
                return null;
            }, cancellationToken))).OfType<string>().ToList();
        return reasons.Count == 0
            ? TypedResults.Ok(new Health("ready", database))
            : TypedResults.Problem($"not ready: {string.Join(", ", reasons)} (the server log has the details)", statusCode: 503, title: "Not ready",
                extensions: new Dictionary<string, object?> { ["reasons"] = reasons });
    }

    /// <summary>Runs one check under its own timeout; a failure is logged in full and answered by its reason's name.</summary>
    private static async Task<string?> ProbeAsync(
        string reason, string detail, ILogger logger, Func<CancellationToken, Task<string?>> check, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            return await check(timeout.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.NotReady(logger, reason, detail, e);
            return reason;
        }
    }
}
