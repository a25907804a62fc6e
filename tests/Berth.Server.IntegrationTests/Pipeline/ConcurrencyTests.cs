using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Pipeline;

[Collection(BerthCollection.Name)]
public sealed class ConcurrencyTests(BerthFixture fixture)
{
    [Fact]
    public async Task Submit_TenJobsAtOnce_AllFinishWithTheirOwnData()
    {
        var submitted = await Task.WhenAll(Enumerable.Range(1, 10).Select(i =>
            fixture.Api.SubmitAsync(Busybox($"test ! -e /data/perf.json && echo '{{\"perf\": {i}}}' > /data/perf.json"))));

        var jobs = await Task.WhenAll(submitted.Select(j => fixture.Api.WaitTerminalAsync(j.Id, 180)));

        Assert.All(jobs, j => Assert.Equal(JobStatus.Succeeded, j.Status));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (double)i), jobs.Select(j => j.Performance!.Value));
    }

    [Fact]
    public async Task Cancel_RunningJob_StopsItsContainer()
    {
        var accepted = await fixture.Api.SubmitAsync(Busybox("sleep 300"));
        await fixture.Api.WaitAsync(accepted.Id, j => j.Stages.Any(s => s.Name == "run" && s.Status == StageStatus.Running));
        await fixture.Docker.WaitForJobContainerAsync(accepted.Id);

        using var response = await fixture.Api.Client.PostAsync(new Uri($"/api/v1/jobs/{accepted.Id}/cancel", UriKind.Relative), null);
        await AcceptedAsync(response);
        var job = await fixture.Api.WaitTerminalAsync(accepted.Id, 30);

        Assert.Equal(JobStatus.Canceled, job.Status);
        Assert.Equal(StageStatus.Canceled, job.Stages.Single(s => s.Name == "run").Status);
        Assert.Empty(await fixture.Docker.JobContainersAsync(accepted.Id));
        Assert.True(job.FinishedAt - job.StartedAt < TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Cancel_BuildingJob_StopsTheBuildAndLeavesNoBuildContainer()
    {
        var before = await fixture.Docker.AllContainerIdsAsync();
        var accepted = await fixture.Api.SubmitAsync($"FROM busybox:latest\nRUN echo {Guid.NewGuid():N} && sleep 120\nCMD [\"true\"]\n");
        await fixture.Api.WaitAsync(accepted.Id, j => j.Status == JobStatus.Building);
        await Task.Delay(1000); // let the RUN step start

        using var response = await fixture.Api.Client.PostAsync(new Uri($"/api/v1/jobs/{accepted.Id}/cancel", UriKind.Relative), null);
        await AcceptedAsync(response);
        var job = await fixture.Api.WaitTerminalAsync(accepted.Id, 30);

        Assert.Equal(JobStatus.Canceled, job.Status);
        Assert.Equal(StageStatus.Canceled, job.Stages.Single(s => s.Name == "build").Status);
        Assert.Contains("Step 3/5 : RUN echo", await fixture.Api.LogsAsync(job.Id), StringComparison.Ordinal); // step 2 is Berth's label line, step 5 the engine's for berth.content
        Assert.True(job.FinishedAt - job.StartedAt < TimeSpan.FromSeconds(30));
        for (var i = 0; i < 100 && (await fixture.Docker.AllContainerIdsAsync()).Except(before).Any(); i++)
        {
            await Task.Delay(100); // the engine removes the build container once it sees the client go
        }
        Assert.Empty((await fixture.Docker.AllContainerIdsAsync()).Except(before));
    }
}
