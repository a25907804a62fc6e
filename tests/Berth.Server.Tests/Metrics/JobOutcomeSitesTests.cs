using Berth.Server.Jobs;
using Berth.Server.Tests.Pipeline;
using static Berth.Server.Tests.Metrics.PrometheusText;

namespace Berth.Server.Tests.Metrics;

/// <summary>The places that end a job in a SQLite Berth tell <see cref="IJobOutcomes"/> once: the workers and a canceled queued job.</summary>
public sealed class JobOutcomeSitesTests
{
    [Fact]
    public async Task RunAsync_JobSucceeds_CountedOnceWithEveryStage()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1.5}");

        var job = await h.RunJobAsync();

        var text = await ExportAsync(h.Metrics);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(1, Value(text, "berth_jobs_total{status=\"succeeded\",reason=\"none\"}"));
        foreach (var stage in new[] { "lint", "build", "run", "collect" })
        {
            Assert.Equal(1, Value(text, $"berth_stage_duration_seconds_count{{stage=\"{stage}\",status=\"succeeded\"}}"));
        }
    }

    [Fact]
    public async Task RunAsync_ContainerExitsNonzero_CountedAsFailedWithItsReason()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1}", exitCode: 3);

        var job = await h.RunJobAsync();

        var text = await ExportAsync(h.Metrics);
        Assert.Equal(FailureReasons.NonzeroExit, job.Failure?.Reason);
        Assert.Equal(1, Value(text, "berth_jobs_total{status=\"failed\",reason=\"nonzero_exit\"}"));
        Assert.Equal(1, Value(text, "berth_stage_duration_seconds_count{stage=\"run\",status=\"failed\"}"));
        Assert.Equal(0, Value(text, "berth_jobs_total{status=\"succeeded\",reason=\"none\"}"));
    }

    [Fact]
    public async Task CancelAsync_QueuedJob_CountedAsCanceled()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await h.SubmitAsync();

        await h.Jobs.CancelAsync(job.Id, new Berth.Server.Auth.Caller(Job.LocalOwner, IsAdmin: true), CancellationToken.None);

        Assert.Equal(1, Value(await ExportAsync(h.Metrics), "berth_jobs_total{status=\"canceled\",reason=\"none\"}"));
    }

    [Fact]
    public async Task RecoverAsync_JobInterruptedTwice_CountedAsInterrupted()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await h.SubmitAsync();
        await h.ClaimAsync();
        await h.Store.SaveAsync((await h.GetAsync(job.Id)).QueuedAgain(), CancellationToken.None);
        await h.ClaimAsync(); // the second attempt, left active as a killed process leaves it

        await h.Runner.RecoverAsync(CancellationToken.None);

        Assert.Equal(1, Value(await ExportAsync(h.Metrics), "berth_jobs_total{status=\"failed\",reason=\"interrupted\"}"));
    }
}
