using System.Net;
using Berth.Scanner.Advisories;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Metrics;
using Berth.Server.Tests.Api;
using Microsoft.Extensions.DependencyInjection;
using static Berth.Server.Tests.Metrics.PrometheusText;

namespace Berth.Server.Tests.Metrics;

/// <summary><c>/metrics</c> on an in-process Berth (no job runs: queued jobs, cancels, and the runner's hook called as it calls it).</summary>
public sealed class MetricsEndpointTests
{
    private const string Dockerfile = "FROM busybox:latest\nCMD [\"true\"]\n";

    private static async Task<string> ScrapeAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri(MetricsEndpoint.Path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task Scrape_KeylessLoopback_ServesBerthGaugesAndTheRuntimeMetrics()
    {
        await using var server = new BerthApiFactory();
        using var client = server.CreateClient();

        using (var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        var text = await ScrapeAsync(client);

        Assert.Contains(Samples(text).Keys, k => k.StartsWith("http_requests_received_total{", StringComparison.Ordinal) && k.Contains("endpoint=\"/healthz\"", StringComparison.Ordinal));
        Assert.Equal(0, Samples(text)["berth_queue_depth"]);
        Assert.Equal(0, Samples(text)["berth_active_jobs"]);
        Assert.Contains("# TYPE berth_jobs_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE berth_stage_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", Samples(text).Keys);
        Assert.Contains(Samples(text).Keys, k => k.StartsWith("dotnet_collection_count_total", StringComparison.Ordinal));
        Assert.DoesNotContain(Samples(text).Keys, k => k.StartsWith("private_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Scrape_BundledDatabase_ReportsItsAgeFromItsMetadata()
    {
        await using var server = new BerthApiFactory();
        using var client = server.CreateClient();
        var folder = server.Services.GetRequiredService<Berth.Server.Scanning.AdvisoryDatabaseProvider>().Folder;
        var metadata = DatabaseMetadata.Read(folder);
        Assert.NotNull(metadata.DataAsOf ?? metadata.UpdatedAt);

        var before = DateTimeOffset.UtcNow - (metadata.DataAsOf ?? metadata.UpdatedAt)!.Value;
        var age = Samples(await ScrapeAsync(client))["berth_scan_database_age_seconds"];
        var after = DateTimeOffset.UtcNow - (metadata.DataAsOf ?? metadata.UpdatedAt)!.Value;

        Assert.InRange(age, Math.Floor(before.TotalSeconds), Math.Ceiling(after.TotalSeconds));
    }

    [Fact]
    public async Task Scrape_JobsQueuedThenOneCanceled_GaugeFollowsAndTheCancelIsCountedOnce()
    {
        await using var server = new BerthApiFactory();
        using var client = server.CreateClient();
        var api = new BerthApi(client);
        var first = await api.SubmitTextAsync(Dockerfile);
        await api.SubmitTextAsync(Dockerfile);

        var queued = await ScrapeAsync(client);
        using (var cancel = await client.PostAsync(new Uri($"/api/v1/jobs/{first.Id}/cancel", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }
        using (var again = await client.PostAsync(new Uri($"/api/v1/jobs/{first.Id}/cancel", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode); // already finished: not counted twice
        }
        var canceled = await ScrapeAsync(client);

        Assert.Equal(2, Samples(queued)["berth_queue_depth"]);
        Assert.Equal(0, Value(queued, "berth_jobs_total{status=\"canceled\",reason=\"none\"}"));
        Assert.Equal(1, Samples(canceled)["berth_queue_depth"]);
        Assert.Equal(1, Value(canceled, "berth_jobs_total{status=\"canceled\",reason=\"none\"}"));
    }

    [Fact]
    public async Task Scrape_AfterTheRunnerEndsAJob_HistogramHasEveryStageThatRan()
    {
        await using var server = new BerthApiFactory();
        using var client = server.CreateClient();
        var t0 = DateTimeOffset.UtcNow;
        string[] stages = ["lint", "build", "scan", "run", "collect"];
        var job = new Job("0123456789abcdef0123456789abcdef", 1, "demo", JobStatus.Succeeded, new JobLimits(60, 256, 1), null, t0, t0, t0.AddSeconds(50),
            1.5, null, stages.Select((s, i) => new StageState(s, StageStatus.Succeeded, t0.AddSeconds(10 * i), t0.AddSeconds(10 * i + 3))).ToList(),
            null, 0, [], 1);

        server.Services.GetRequiredService<IJobOutcomes>().Finished(job);
        var text = await ScrapeAsync(client);

        Assert.Equal(1, Value(text, "berth_jobs_total{status=\"succeeded\",reason=\"none\"}"));
        foreach (var stage in stages)
        {
            Assert.Equal(1, Value(text, $"berth_stage_duration_seconds_count{{stage=\"{stage}\",status=\"succeeded\"}}"));
            Assert.Equal(3, Value(text, $"berth_stage_duration_seconds_sum{{stage=\"{stage}\",status=\"succeeded\"}}"), 6);
        }
    }

    [Fact]
    public async Task Scrape_KeysConfigured_RefusesWithout401AndServesWithAKey()
    {
        await using var server = new BerthApiFactory(TestKeys.Settings());
        using var anonymous = server.CreateClient();
        using var keyed = TestKeys.As(server, "alice-key"); // a user's key, not an admin's

        using (var refused = await anonymous.GetAsync(new Uri(MetricsEndpoint.Path, UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.DoesNotContain("berth_", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Contains("berth_queue_depth", Samples(await ScrapeAsync(keyed)).Keys);
    }

    [Fact]
    public async Task Scrape_AfterRequestsWithMadeUpMethods_HasNoSeriesForThem()
    {
        await using var server = new BerthApiFactory(TestKeys.Settings());
        using var anonymous = server.CreateClient();
        using var keyed = TestKeys.As(server, "alice-key"); // a user's key, not an admin's

        for (var i = 0; i < 30; i++)
        {
            using var request = new HttpRequestMessage(new HttpMethod($"MADEUP{i}"), "/api/v1/jobs");
            using var response = await anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
        }

        var text = await ScrapeAsync(keyed);
        Assert.DoesNotContain("MADEUP", text, StringComparison.Ordinal); // no series per method: the label could grow without bound
    }

    [Theory]
    [InlineData(90.0, 90.0)]
    [InlineData(-5.0, 0.0)] // a clock behind the database's date: not negative
    public void DatabaseAge_DatedMetadata_IsTheTimeSinceItsData(double secondsAgo, double expected)
    {
        var now = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var metadata = new DatabaseMetadata("bundled", now.AddDays(-30), now.AddSeconds(-secondsAgo));

        Assert.Equal(TimeSpan.FromSeconds(expected), MetricsEndpoint.DatabaseAge(metadata, now));
    }

    [Fact]
    public void DatabaseAge_UndatedMetadata_IsUnknown() =>
        Assert.Null(MetricsEndpoint.DatabaseAge(DatabaseMetadata.Unknown, DateTimeOffset.UnixEpoch));
}
