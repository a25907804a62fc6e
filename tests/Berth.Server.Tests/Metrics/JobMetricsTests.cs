using Berth.Server.Jobs;
using Berth.Server.Metrics;
using static Berth.Server.Tests.Metrics.PrometheusText;

namespace Berth.Server.Tests.Metrics;

public sealed class JobMetricsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static Job Ended(JobStatus status, JobFailure? failure, params StageState[] stages) =>
        new("0123456789abcdef0123456789abcdef", 1, null, status, new JobLimits(60, 256, 1), null, T0, T0, T0.AddMinutes(5), null, failure,
            stages, null, null, [], 1);

    [Fact]
    public async Task Finished_FailedJob_CountsItsReasonAndObservesTheStagesThatRan()
    {
        var metrics = new JobMetrics();

        metrics.Finished(Ended(JobStatus.Failed, new JobFailure(FailureReasons.BuildFailed, "step 2 failed"),
            new StageState("lint", StageStatus.Succeeded, T0, T0.AddSeconds(0.2)),
            new StageState("build", StageStatus.Failed, T0.AddSeconds(1), T0.AddSeconds(43)),
            new StageState("scan", StageStatus.Skipped, null, T0.AddSeconds(43))));

        var text = await ExportAsync(metrics);
        Assert.Equal(1, Value(text, "berth_jobs_total{status=\"failed\",reason=\"build_failed\"}"));
        Assert.Equal(1, Value(text, "berth_stage_duration_seconds_count{stage=\"lint\",status=\"succeeded\"}"));
        Assert.Equal(42, Value(text, "berth_stage_duration_seconds_sum{stage=\"build\",status=\"failed\"}"), 6);
        Assert.Equal(0, Value(text, "berth_stage_duration_seconds_bucket{stage=\"build\",status=\"failed\",le=\"30\"}"));
        Assert.Equal(1, Value(text, "berth_stage_duration_seconds_bucket{stage=\"build\",status=\"failed\",le=\"60\"}"));
        Assert.DoesNotContain("stage=\"scan\"", text, StringComparison.Ordinal); // skipped: it never ran
    }

    [Fact]
    public async Task Finished_SucceededAndCanceledJobs_CountWithReasonNone()
    {
        var metrics = new JobMetrics();

        metrics.Finished(Ended(JobStatus.Succeeded, null));
        metrics.Finished(Ended(JobStatus.Succeeded, null));
        metrics.Finished(Ended(JobStatus.Canceled, null));

        var text = await ExportAsync(metrics);
        Assert.Equal(2, Value(text, "berth_jobs_total{status=\"succeeded\",reason=\"none\"}"));
        Assert.Equal(1, Value(text, "berth_jobs_total{status=\"canceled\",reason=\"none\"}"));
    }

    [Fact]
    public async Task Finished_ReasonsBerthDoesNotKnow_ShareOneLabelValue()
    {
        var metrics = new JobMetrics();

        for (var i = 0; i < 50; i++)
        {
            metrics.Finished(Ended(JobStatus.Failed, new JobFailure($"made-up-by-an-agent-{i}", "x")));
        }
        metrics.Finished(Ended(JobStatus.Failed, new JobFailure(FailureReasons.WorkerLost, "gone")));

        var text = await ExportAsync(metrics);
        Assert.Equal(50, Value(text, "berth_jobs_total{status=\"failed\",reason=\"other\"}"));
        Assert.Equal(1, Value(text, "berth_jobs_total{status=\"failed\",reason=\"worker_lost\"}"));
        Assert.DoesNotContain("made-up", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Finished_JobNotTerminal_IsNotCounted()
    {
        var metrics = new JobMetrics();

        metrics.Finished(Ended(JobStatus.Running, null, new StageState("lint", StageStatus.Succeeded, T0, T0.AddSeconds(1))));

        var text = await ExportAsync(metrics);
        Assert.DoesNotContain("berth_jobs_total{", text, StringComparison.Ordinal);
        Assert.DoesNotContain("berth_stage_duration_seconds_count{", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Finished_TwoInstances_KeepTheirOwnCounts()
    {
        var first = new JobMetrics();
        var second = new JobMetrics();

        first.Finished(Ended(JobStatus.Succeeded, null));

        Assert.Equal(1, Value(await ExportAsync(first), "berth_jobs_total{status=\"succeeded\",reason=\"none\"}"));
        Assert.Equal(0, Value(await ExportAsync(second), "berth_jobs_total{status=\"succeeded\",reason=\"none\"}"));
    }
}
