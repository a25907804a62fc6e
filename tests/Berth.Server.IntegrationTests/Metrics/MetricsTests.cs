using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Server.IntegrationTests.Infrastructure;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Metrics;

/// <summary>/metrics on a server whose jobs really run.</summary>
[Collection(BerthCollection.Name)]
public sealed class MetricsTests(BerthFixture fixture)
{
    [Fact]
    public async Task Metrics_JobsFinish_CountersMoveAndTheHistogramHasEveryStage()
    {
        var before = await ScrapeAsync();

        await fixture.Api.RunAsync(Busybox("echo '{\"perf\": 1}' > /data/perf.json"), cache: false);
        await fixture.Api.RunAsync(Busybox("exit 4"), cache: false);

        // A job's end is stored a moment before the worker counts it: scrape again until both counters have moved.
        const string Succeeded = "berth_jobs_total{status=\"succeeded\",reason=\"none\"}";
        const string Failed = "berth_jobs_total{status=\"failed\",reason=\"nonzero_exit\"}";
        var after = await ScrapeAsync();
        for (var i = 0; i < 50 && !(Value(after, Succeeded) >= Value(before, Succeeded) + 1 && Value(after, Failed) >= Value(before, Failed) + 1); i++)
        {
            await Task.Delay(100);
            after = await ScrapeAsync();
        }
        Assert.True(Value(after, Succeeded) >= Value(before, Succeeded) + 1, after);
        Assert.True(Value(after, Failed) >= Value(before, Failed) + 1, after);
        foreach (var stage in new[] { "lint", "build", "scan", "run", "collect" })
        {
            Assert.Contains($"berth_stage_duration_seconds_count{{stage=\"{stage}\"", after, StringComparison.Ordinal);
        }
        Assert.Matches(GaugeLine("berth_queue_depth"), after);
        Assert.Matches(GaugeLine("berth_active_jobs"), after);
        Assert.Matches(GaugeLine("berth_scan_database_age_seconds"), after);
        Assert.Contains("process_cpu_seconds_total", after, StringComparison.Ordinal);
    }

    private async Task<string> ScrapeAsync() => await fixture.Server.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    private static Regex GaugeLine(string name) => new($"(?m)^{name} [0-9.eE+-]+$");

    /// <summary>The sample's value, 0 when the series does not exist yet.</summary>
    private static double Value(string text, string series)
    {
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
