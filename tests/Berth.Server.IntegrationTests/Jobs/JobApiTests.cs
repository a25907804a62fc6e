using System.Net;
using System.Net.Http.Json;
using System.Text;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Jobs;

/// <summary>The HTTP contract where jobs must run; the rest of it runs in-process in tests/Berth.Server.Tests/Api.</summary>
[Collection(BerthCollection.Name)]
public sealed class JobApiTests(BerthFixture fixture)
{
    private HttpClient Client => fixture.Server.Client;

    private static Uri Jobs => new("/api/v1/jobs", UriKind.Relative);

    [Fact]
    public async Task Submit_RandomBodies_NeverGet500()
    {
        var random = new Random(1234);
        foreach (var type in new[] { "text/plain", "application/json", "multipart/form-data; boundary=x", "application/octet-stream" })
        {
            for (var i = 0; i < 15; i++)
            {
                var bytes = new byte[random.Next(0, 2000)];
                random.NextBytes(bytes);
                var content = new ByteArrayContent(bytes);
                content.Headers.TryAddWithoutValidation("Content-Type", type);
                using var response = await Client.PostAsync(Jobs, content);
                Assert.True((int)response.StatusCode is >= 400 and < 500 or 202, $"{type}: {(int)response.StatusCode}");
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    var job = await fixture.Api.WaitTerminalAsync((await response.Content.ReadFromJsonAsync<JobView>(JobJson.Options))!.Id);
                    Assert.Equal(FailureReasons.LintRejected, job.Failure?.Reason);
                }
            }
        }
    }

    [Fact]
    public async Task Delete_FinishedJob_RemovesItAndItsFiles_ActiveJobIs409()
    {
        var running = await fixture.Api.SubmitAsync(Busybox("sleep 30"));
        using (var conflict = await Client.DeleteAsync(new Uri($"/api/v1/jobs/{running.Id}", UriKind.Relative)))
        {
            await ProblemAsync(conflict, HttpStatusCode.Conflict);
        }
        using (await Client.PostAsync(new Uri($"/api/v1/jobs/{running.Id}/cancel", UriKind.Relative), null)) { }
        var done = await fixture.Api.WaitTerminalAsync(running.Id);
        Assert.Equal(JobStatus.Canceled, done.Status);
        using (var cancelAgain = await Client.PostAsync(new Uri($"/api/v1/jobs/{running.Id}/cancel", UriKind.Relative), null))
        {
            await ProblemAsync(cancelAgain, HttpStatusCode.Conflict);
        }

        using var deleted = await Client.DeleteAsync(new Uri($"/api/v1/jobs/{running.Id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(fixture.Server.DataRoot, "jobs", running.Id)));
        using var gone = await Client.GetAsync(new Uri($"/api/v1/jobs/{running.Id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task CorrelationId_ReachesTheWorkersLogLines()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Jobs) { Content = new StringContent(Busybox("echo '{\"perf\": 2}' > /data/perf.json"), Encoding.UTF8, "text/plain") };
        request.Headers.Add("X-Correlation-Id", "trace-me-7");
        using var response = await Client.SendAsync(request);
        var job = await fixture.Api.WaitTerminalAsync((await AcceptedAsync(response)).Id);

        var lines = fixture.Server.Log.Split('\n').Where(l => l.Contains("succeeded with performance", StringComparison.Ordinal) && l.Contains(job.Id, StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.Contains("\"CorrelationId\":\"trace-me-7\"", line, StringComparison.Ordinal);
    }

    /// <summary>The other service endpoints are checked in-process (tests/Berth.Server.Tests/Api); ready needs an engine.</summary>
    [Fact]
    public async Task Readyz_WithTheEngine_Answers200()
    {
        using var response = await Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
