using System.Text.Json;
using Berth.Server.IntegrationTests.Infrastructure;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Streams;

/// <summary>The events stream of a job that really builds, scans and runs (the stream's other cases run in-process).</summary>
[Collection(BerthCollection.Name)]
public sealed class StreamTests(BerthFixture fixture)
{
    private static readonly string[] Order = ["queued", "linting", "building", "scanning", "running", "succeeded"];

    [Fact]
    public async Task Events_RealJob_ShowsEveryStatusInPipelineOrderThenEnds()
    {
        // Cache off: the job builds, so every status is held long enough to be seen.
        var job = await fixture.Api.SubmitAsync(Busybox("sleep 1; echo '{\"perf\": 3}' > /data/perf.json"), cache: false);

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var stream = await fixture.Server.Client.GetStreamAsync(new Uri($"/api/v1/jobs/{job.Id}/events", UriKind.Relative), timeout.Token);
        using var reader = new StreamReader(stream);
        var statuses = new List<string>();
        var events = new List<string>();
        string? line;
        string? name = null;
        while ((line = await reader.ReadLineAsync(timeout.Token)) is not null)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
                events.Add(name);
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && name == "job")
            {
                using var view = JsonDocument.Parse(line["data: ".Length..]);
                var status = view.RootElement.GetProperty("status").GetString()!;
                if (statuses.LastOrDefault() != status)
                {
                    statuses.Add(status);
                }
            }
        }

        Assert.Equal("end", events[^1]);
        Assert.Equal("succeeded", statuses[^1]);
        // Every status seen comes later in the pipeline than the one before it; building and running are always seen.
        var positions = statuses.Select(s => Array.IndexOf(Order, s)).ToList();
        Assert.DoesNotContain(-1, positions);
        Assert.Equal(positions.Order(), positions);
        Assert.Contains("building", statuses);
        Assert.Contains("running", statuses);
    }
}
