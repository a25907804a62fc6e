using System.Net;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Pipeline;

/// <summary>Tests that need a server of their own: crash recovery and the queue cap.</summary>
[Collection(BerthCollection.Name)]
public sealed class RestartTests(BerthFixture fixture)
{
    [Fact]
    public async Task KilledMidJob_Restarted_JobEndsAndNoContainerIsLeft()
    {
        var root = TempRoot.Create("crash");
        string id;
        int port;
        await using (var first = await BerthProcess.StartAsync(root, new Dictionary<string, string> { ["Berth:Workers"] = "1" }))
        {
            port = first.Port;
            var api = new BerthApi(first.Client);
            id = (await api.SubmitAsync(Busybox("sleep 3; echo '{\"perf\": 3}' > /data/perf.json"))).Id;
            await api.WaitAsync(id, j => j.Stages.Any(s => s.Name == "run" && s.Status == StageStatus.Running));
            await fixture.Docker.WaitForJobContainerAsync(id);
            first.Kill();
        }

        await using var second = await BerthProcess.StartAsync(root, new Dictionary<string, string> { ["Berth:Workers"] = "1" }, port);
        var job = await new BerthApi(second.Client).WaitTerminalAsync(id, 120);

        Assert.Equal(JobStatus.Succeeded, job.Status); // re-queued once, then ran to the end
        Assert.Equal(3, job.Performance);
        Assert.Empty(await fixture.Docker.JobContainersAsync(id));
        Assert.Contains("re-queued", second.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KilledWithTwentyJobsInFlight_Restarted_EveryJobFinishesOnceAndNoContainerIsLeft()
    {
        var root = TempRoot.Create("crash20");
        var settings = new Dictionary<string, string> { ["Berth:Workers"] = "2", ["Auth:SubmitsPerMinute"] = "1000" };
        List<string> ids;
        int port;
        await using (var first = await BerthProcess.StartAsync(root, settings))
        {
            port = first.Port;
            var api = new BerthApi(first.Client);
            // Each job appends to its own /data marker: a job that ran twice at once would see the other's marker.
            ids = (await Task.WhenAll(Enumerable.Range(1, 20).Select(i => api.SubmitAsync(Busybox(
                $"test ! -e /data/marker && touch /data/marker && sleep 1 && echo '{{\"perf\": {i}}}' > /data/perf.json",
                i % 4 == 0 ? "RUN sleep 1\n" : ""))))).Select(j => j.Id).ToList();
            await api.WaitAsync(ids[0], j => j.Status is JobStatus.Running or JobStatus.Succeeded, 60);
            first.Kill();
        }

        await using var second = await BerthProcess.StartAsync(root, settings, port);
        var api2 = new BerthApi(second.Client);
        var jobs = new List<JobView>();
        foreach (var id in ids)
        {
            jobs.Add(await api2.WaitTerminalAsync(id, 180));
        }

        Assert.Equal(20, jobs.Count);
        Assert.All(jobs, j => Assert.Equal(JobStatus.Succeeded, j.Status));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (double)i), jobs.Select(j => j.Performance!.Value));
        foreach (var id in ids)
        {
            Assert.Empty(await fixture.Docker.JobContainersAsync(id));
        }
    }

    [Fact]
    public async Task QueueFull_Is503WithRetryAfter_AndACanceledQueuedJobNeverStarts()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("queue"),
            new Dictionary<string, string> { ["Berth:Workers"] = "1", ["Berth:QueueCap"] = "1", ["Limits:KillGraceSeconds"] = "0" });
        var api = new BerthApi(server.Client);
        var blocker = await api.SubmitAsync(Busybox("sleep 60"));
        await api.WaitAsync(blocker.Id, j => j.Status != JobStatus.Queued);
        var waiting = await api.SubmitAsync(Busybox("echo '{\"perf\": 1}' > /data/perf.json"));

        using (var full = await server.Client.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), new StringContent(Busybox("true"), System.Text.Encoding.UTF8, "text/plain")))
        {
            await ProblemAsync(full, HttpStatusCode.ServiceUnavailable);
            Assert.NotNull(full.Headers.RetryAfter);
        }

        using (var cancel = await server.Client.PostAsync(new Uri($"/api/v1/jobs/{waiting.Id}/cancel", UriKind.Relative), null))
        {
            var canceled = await AcceptedAsync(cancel);
            Assert.Equal(JobStatus.Canceled, canceled.Status);
        }
        using (await server.Client.PostAsync(new Uri($"/api/v1/jobs/{blocker.Id}/cancel", UriKind.Relative), null)) { }
        await api.WaitTerminalAsync(blocker.Id);
        await Task.Delay(1500); // a worker would have claimed it by now

        var never = await api.GetAsync(waiting.Id);
        Assert.Equal(JobStatus.Canceled, never.Status);
        Assert.Null(never.StartedAt);
        Assert.All(never.Stages, s => Assert.Equal(StageStatus.Skipped, s.Status));
    }
}
