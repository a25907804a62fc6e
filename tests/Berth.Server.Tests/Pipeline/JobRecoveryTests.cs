using Berth.Server.Jobs;
using Berth.Server.Pipeline;

namespace Berth.Server.Tests.Pipeline;

/// <summary>
/// <see cref="JobRunner.RecoverAsync"/>: what the next start does with jobs a process left active when it died — each
/// is re-queued once and failed <c>interrupted</c> the second time, and what it held is released.
/// </summary>
public sealed class JobRecoveryTests
{
    [Fact]
    public async Task RecoverAsync_JobLeftActive_RequeuesItAndReleasesItsContainerAndData()
    {
        await using var first = await RunnerHarness.CreateAsync();
        var submitted = await first.SubmitAsync();
        await DieRunningAsync(first, await first.ClaimAsync());
        var container = Assert.Single(first.Engine.Containers).Id;

        await using var next = await first.NextStartAsync();
        await next.Runner.RecoverAsync(CancellationToken.None);

        var job = await next.GetAsync(submitted.Id);
        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(1, job.Attempts); // counted: the next claim makes it the second
        Assert.Null(job.StartedAt);
        Assert.All(job.Stages, s => Assert.Equal(StageStatus.Pending, s.Status));
        Assert.Contains($"RemoveContainerAsync {container}", next.Engine.Calls);
        next.AssertReleased(job); // its context stays for the next attempt
        Assert.True(next.Volumes.WarmedUp);
    }

    [Fact]
    public async Task RecoverAsync_JobLeftActiveTwice_RequeuesItOnceThenFailsItInterrupted()
    {
        await using var first = await RunnerHarness.CreateAsync();
        var submitted = await first.SubmitAsync();
        await DieRunningAsync(first, await first.ClaimAsync());

        await using var second = await first.NextStartAsync();
        await second.Runner.RecoverAsync(CancellationToken.None);
        Assert.Equal(JobStatus.Queued, (await second.GetAsync(submitted.Id)).Status);
        await DieRunningAsync(second, await second.ClaimAsync());

        await using var third = await second.NextStartAsync();
        await third.Runner.RecoverAsync(CancellationToken.None);

        var job = await third.GetAsync(submitted.Id);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(2, job.Attempts);
        Assert.Equal(FailureReasons.Interrupted, job.Failure?.Reason);
        Assert.Equal("the server stopped while this job was running, twice; it was not retried again", job.Failure?.Message);
        Assert.Equal(third.Time.GetUtcNow(), job.FinishedAt);
        // Nothing of a terminal job is left running or pending: the stage it died in failed, the later ones are skipped.
        Assert.Equal(
            [StageStatus.Succeeded, StageStatus.Succeeded, StageStatus.Skipped, StageStatus.Failed, StageStatus.Skipped],
            job.Stages.Select(s => s.Status));
        third.AssertReleased(job); // the context is gone too
        Assert.Equal(2, third.Engine.Calls.Count(c => c.StartsWith("RemoveContainerAsync ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RecoverAsync_EngineDown_RequeuesTheJobAndItsRetryRemovesTheContainerLeftBehind()
    {
        await using var first = await RunnerHarness.CreateAsync();
        var submitted = await first.SubmitAsync();
        await DieRunningAsync(first, await first.ClaimAsync());

        await using var next = await first.NextStartAsync();
        next.Engine.Down = true;
        await next.Runner.RecoverAsync(CancellationToken.None);

        var requeued = await next.GetAsync(submitted.Id);
        Assert.Equal(JobStatus.Queued, requeued.Status);
        Assert.True(next.Volumes.Holds(next.PathsOf(submitted.Id))); // kept while its container may still run
        Assert.Single(next.Engine.Containers); // the engine could not be asked

        next.Engine.Down = false;
        next.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 3}");
        await next.PumpAsync(next.StartRun(await next.ClaimAsync()));

        var job = await next.GetAsync(submitted.Id);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(2, job.Attempts);
        next.AssertReleased(job);
    }

    [Fact]
    public async Task RecoverAsync_NoActiveJobs_SweepsLeftoversAndLeavesQueuedJobsAlone()
    {
        await using var first = await RunnerHarness.CreateAsync();
        var queued = await first.SubmitAsync();
        var unknown = first.Engine.AddContainer(first.Names.ContainerLabels("f00d"), first.Names.ContainerName("f00d"));

        await using var next = await first.NextStartAsync();
        await next.Runner.RecoverAsync(CancellationToken.None);

        Assert.Equal(JobStatus.Queued, (await next.GetAsync(queued.Id)).Status);
        Assert.Equal(0, (await next.GetAsync(queued.Id)).Attempts);
        Assert.True(File.Exists(next.PathsOf(queued.Id).BuildContext));
        Assert.DoesNotContain(next.Engine.Containers, c => c.Id == unknown);
    }

    /// <summary>
    /// The process dies while <paramref name="claimed"/> runs: the store holds it as running (lint and build done, scan
    /// skipped, run started), and its container and /data stay behind.
    /// </summary>
    private static async Task DieRunningAsync(RunnerHarness h, Job claimed)
    {
        var now = h.Time.GetUtcNow();
        await h.Store.SaveAsync(claimed.WithStage("lint", StageStatus.Succeeded, now).WithStage("build", StageStatus.Succeeded, now)
            .WithStage("scan", StageStatus.Skipped, now).WithStage("run", StageStatus.Running, now) with { Status = JobStatus.Running }, CancellationToken.None);
        h.Engine.AddContainer(h.Names.ContainerLabels(claimed.Id), h.Names.ContainerName(claimed.Id));
        await h.Volumes.PrepareAsync(h.PathsOf(claimed.Id), 4, 100_000, CancellationToken.None);
    }
}
