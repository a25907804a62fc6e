using Berth.Scanner.Advisories;
using Berth.Server.Jobs;
using Berth.Server.Scanning;
using Prometheus;

namespace Berth.Server.Metrics;

/// <summary>
/// <c>GET /metrics</c>: Prometheus text. The process, .NET runtime and HTTP metrics (prometheus-net's default registry),
/// then Berth's own (<see cref="JobMetrics"/>); the gauges are read when scraped: two count queries and the advisory
/// database's small metadata file. Authenticated like the API.
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static IEndpointRouteBuilder MapMetricsEndpoint(this IEndpointRouteBuilder app)
    {
        // .NET's own internal diagnostics (meters named Private.InternalDiagnostics.*, e.g. QUIC's) are not for operators.
        Prometheus.Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = i => !i.Meter.Name.StartsWith("Private.", StringComparison.OrdinalIgnoreCase));
        app.MapGet(Path, Scrape).RequireAuthorization().ExcludeFromDescription();
        return app;
    }

    internal static async Task Scrape(
        HttpContext http, JobMetrics metrics, IJobStore store, AdvisoryDatabaseProvider databases, TimeProvider time, CancellationToken cancellationToken)
    {
        metrics.QueueDepth.Set(await store.CountQueuedAsync(cancellationToken));
        metrics.ActiveJobs.Set(await store.CountActiveAsync(cancellationToken));
        if (DatabaseAge(DatabaseMetadata.Read(databases.Folder), time.GetUtcNow()) is { } age)
        {
            metrics.DatabaseAge.Set(age.TotalSeconds);
            metrics.DatabaseAge.Publish();
        }
        else
        {
            metrics.DatabaseAge.Unpublish();
        }
        http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(http.Response.Body, cancellationToken);
        await metrics.Registry.CollectAndExportAsTextAsync(http.Response.Body, cancellationToken);
    }

    /// <summary>How old the advisory data is (counted as the job view counts it), or null when its date is unknown.</summary>
    internal static TimeSpan? DatabaseAge(DatabaseMetadata metadata, DateTimeOffset now) =>
        (metadata.DataAsOf ?? metadata.UpdatedAt) is { } at ? (now - at < TimeSpan.Zero ? TimeSpan.Zero : now - at) : null;
}
