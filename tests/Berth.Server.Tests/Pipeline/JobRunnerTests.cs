using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Submissions;

namespace Berth.Server.Tests.Pipeline;

/// <summary>
/// The runner with the real stages on a fake engine: every way a job can end without Docker, cancel and shutdown at
/// each stage that waits, and what each outcome leaves behind (<see cref="RunnerHarness.AssertReleased"/>).
/// </summary>
public sealed class JobRunnerTests
{
    private const string BeforeRun = "lint:succeeded build:succeeded scan:skipped";

    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task RunAsync_JobWritesPerf_SucceedsWithItsPerformanceAndKeepsTheImage()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1.5}");

        var job = await h.RunJobAsync();

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(1.5, job.Performance);
        Assert.Equal(0, job.ExitCode);
        Assert.Null(job.Failure);
        Assert.NotNull(job.FinishedAt);
        Assert.Equal($"{BeforeRun} run:succeeded collect:succeeded", Stages(job));
        h.AssertReleased(job);
        Assert.True(h.Engine.HasImage(h.Names.ImageTag(job.Id))); // kept for Build:ImageRetentionSeconds
    }

    [Fact]
    public async Task RunAsync_NoImageRetention_RemovesTheImageWithTheContainer()
    {
        await using var h = await RunnerHarness.CreateAsync(new Dictionary<string, string?> { ["Build:ImageRetentionSeconds"] = "0" });
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 2}");

        var job = await h.RunJobAsync();

        Assert.Equal(JobStatus.Succeeded, job.Status);
        h.AssertReleased(job);
        Assert.False(h.Engine.HasImage(h.Names.ImageTag(job.Id)));
        Assert.Contains($"RemoveImageAsync {h.Names.ImageTag(job.Id)} prune=True", h.Engine.Calls);
    }

    [Theory]
    [InlineData("FROM ubuntu:22.04", FailureReasons.LintRejected, "lint:failed build:skipped", "ubuntu:22.04")]
    [InlineData("FROM debian:bookworm-slim", FailureReasons.BaseImageMissing, "lint:succeeded build:failed", "'docker.io/library/debian:bookworm-slim'")]
    public async Task RunAsync_BaseImageNotAllowedOrNotOnTheEngine_FailsWithoutBuilding(string from, string reason, string stages, string named)
    {
        await using var h = await RunnerHarness.CreateAsync();

        var job = await h.RunJobAsync(from + "\nCMD [\"true\"]\n");

        AssertFailed(h, job, reason, stages + " scan:skipped run:skipped collect:skipped");
        Assert.Contains(named, job.Failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(h.Engine.Calls, c => c.StartsWith("BuildAsync", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_BuildStreamReportsAnError_FailsBuildFailedWithTheStepAndTheError()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Build = (build, _) =>
        {
            build.Emit(new BuildMessage("Step 2/2 : RUN false\n", null, null));
            build.Emit(new BuildMessage(null, null, "The command '/bin/sh -c false' returned a non-zero code: 1"));
            return Task.CompletedTask;
        };

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.BuildFailed, "lint:succeeded build:failed scan:skipped run:skipped collect:skipped");
        Assert.Equal("build failed at 'Step 2/2 : RUN false': The command '/bin/sh -c false' returned a non-zero code: 1", job.Failure.Message);
        Assert.Contains("ERROR: The command", await File.ReadAllTextAsync(h.PathsOf(job.Id).BuildLog), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_EngineRefusesTheBuild_FailsBuildFailed()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Build = (_, _) => throw new EngineBuildException(400, "dockerfile parse error on line 2");

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.BuildFailed, "lint:succeeded build:failed scan:skipped run:skipped collect:skipped");
        Assert.Equal("the engine refused the build: dockerfile parse error on line 2", job.Failure.Message);
    }

    [Fact]
    public async Task RunAsync_BuildPrintsMoreThanTheOutputCap_StopsItAndFailsBuildLimitExceeded()
    {
        await using var h = await RunnerHarness.CreateAsync(new Dictionary<string, string?> { ["Build:MaxOutputMb"] = "1" });
        var lines = 0;
        h.Engine.Build = async (build, token) =>
        {
            var line = new string('x', 64 * 1024) + "\n";
            for (; lines < 100 && !token.IsCancellationRequested; lines++)
            {
                build.Emit(new BuildMessage(line, null, null));
            }
            await Task.Delay(Timeout.Infinite, token);
        };

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.BuildLimitExceeded, "lint:succeeded build:failed scan:skipped run:skipped collect:skipped");
        Assert.Equal("the build printed more than 1 MiB of output (Build:MaxOutputMb)", job.Failure.Message);
        Assert.Equal(16, lines); // the 16th line of 64 KiB + 1 crosses 1 MiB and stops the build
    }

    [Fact]
    public async Task RunAsync_BuildRunsPastBuildTimeout_StopsItAndFailsTimeout()
    {
        await using var h = await RunnerHarness.CreateAsync(new Dictionary<string, string?> { ["Build:TimeoutSeconds"] = "10" });
        h.Engine.Build = (_, token) => Task.Delay(Timeout.Infinite, token);

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.Timeout, "lint:succeeded build:failed scan:skipped run:skipped collect:skipped");
        Assert.Equal("the build ran longer than its 10 s limit (Build:TimeoutSeconds) and was stopped", job.Failure.Message);
        Assert.InRange(job.FinishedAt!.Value - job.StartedAt!.Value, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(120)); // fake time, no sleeping
    }

    [Fact]
    public async Task RunAsync_ContainerRunsPastJobTimeout_KillsItAndFailsTimeout()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = (_, token) => Task.Delay(Timeout.Infinite, token);

        var job = await h.RunJobAsync(limits: new LimitsRequest(5, null, null));

        AssertFailed(h, job, FailureReasons.Timeout, $"{BeforeRun} run:failed collect:skipped");
        Assert.Equal("the job ran longer than its 5 s limit and was killed", job.Failure.Message);
        Assert.Contains(h.Engine.Calls, c => c.StartsWith("KillContainerAsync ", StringComparison.Ordinal));
        Assert.InRange(job.FinishedAt!.Value - job.StartedAt!.Value, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(120));
    }

    [Fact]
    public async Task RunAsync_ContainerExitsNonzero_FailsNonzeroExitAndKeepsItsOutput()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = (container, _) =>
        {
            container.Write("boom\n");
            container.Exit(3);
            return Task.CompletedTask;
        };

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.NonzeroExit, $"{BeforeRun} run:failed collect:skipped");
        Assert.Equal("the job exited with code 3", job.Failure.Message);
        Assert.Equal(3, job.ExitCode);
        Assert.Equal("boom\n", await File.ReadAllTextAsync(h.PathsOf(job.Id).RunLog));
    }

    [Fact]
    public async Task RunAsync_ContainerOomKilled_FailsOutOfMemory()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = (container, _) =>
        {
            container.OomKilled = true;
            container.Exit(137);
            return Task.CompletedTask;
        };

        var job = await h.RunJobAsync(limits: new LimitsRequest(null, 64, null));

        AssertFailed(h, job, FailureReasons.OutOfMemory, $"{BeforeRun} run:failed collect:skipped");
        Assert.Equal("the job exceeded its memory limit of 64 MiB and a process was killed (exit code 137)", job.Failure.Message);
    }

    [Fact]
    public async Task RunAsync_NoPerfFile_FailsPerfMissing()
    {
        await using var h = await RunnerHarness.CreateAsync(); // the fake container exits 0 and writes nothing

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.PerfMissing, $"{BeforeRun} run:succeeded collect:failed");
        Assert.Equal(0, job.ExitCode);
    }

    [Fact]
    public async Task RunAsync_PerfNotANumber_FailsPerfInvalid()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": \"fast\"}");

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.PerfInvalid, $"{BeforeRun} run:succeeded collect:failed");
        Assert.Contains("\"perf\" must be a number", job.Failure.Message, StringComparison.Ordinal);
        Assert.Null(job.Performance);
    }

    [Fact]
    public async Task RunAsync_NoAdvisoryDatabase_FailsScanFailedBeforeRunning()
    {
        await using var h = await RunnerHarness.CreateAsync(new Dictionary<string, string?> { ["Scan:Enabled"] = "true" });

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.ScanFailed, "lint:succeeded build:succeeded scan:failed run:skipped collect:skipped");
        Assert.DoesNotContain(h.Engine.Calls, c => c.StartsWith("CreateContainerAsync", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_EngineFailsToStartTheContainer_FailsEngineErrorAndRemovesTheContainer()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.FailOn = nameof(IContainerEngine.StartContainerAsync);

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.EngineError, $"{BeforeRun} run:failed collect:skipped");
        Assert.Contains("during the run stage", job.Failure.Message, StringComparison.Ordinal);
        Assert.Contains(h.Engine.Calls, c => c.StartsWith("RemoveContainerAsync ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_EngineGoesDownMidRun_FailsEngineErrorAndTheJanitorRemovesContainerThenDataLater()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = (container, _) =>
        {
            h.Engine.Down = true;
            container.Exit(0);
            return Task.CompletedTask;
        };

        var job = await h.RunJobAsync();

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.EngineError, job.Failure?.Reason);
        Assert.Equal($"{BeforeRun} run:failed collect:skipped", Stages(job));
        Assert.True(h.Volumes.Holds(h.PathsOf(job.Id))); // kept while its container may still run
        Assert.False(File.Exists(h.PathsOf(job.Id).BuildContext));
        Assert.Single(h.Engine.Containers); // the engine could not be asked to remove it
        Assert.Contains(h.Log.Lines, l => l.Contains($"Job {job.Id} clean-up failed", StringComparison.Ordinal));

        h.Engine.Down = false;
        await h.Janitor.SweepAsync(CancellationToken.None);

        h.AssertReleased(job);
    }

    [Fact]
    public async Task RunAsync_StageThrowsANonEngineException_FailsInternalError()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Build = (_, _) => throw new InvalidOperationException("a bug in a stage");

        var job = await h.RunJobAsync();

        AssertFailed(h, job, FailureReasons.InternalError, "lint:succeeded build:failed scan:skipped run:skipped collect:skipped");
        Assert.Contains("during the build stage", job.Failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("a bug in a stage", job.Failure.Message, StringComparison.Ordinal); // details go to the log only
        Assert.Contains(h.Log.Lines, l => l.StartsWith("Error: ", StringComparison.Ordinal) && l.Contains("a bug in a stage", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_CanceledBeforeLint_CancelsLintAndSkipsTheRest()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var submitted = await h.SubmitAsync();
        var claimed = await h.ClaimAsync();
        Assert.False(h.Active.Cancel(submitted.Id)); // between the claim and the worker's registration

        await h.PumpAsync(h.StartRun(claimed));

        var job = await h.GetAsync(submitted.Id);
        AssertCanceled(h, job, "lint:canceled build:skipped scan:skipped run:skipped collect:skipped");
        Assert.DoesNotContain(h.Engine.Calls, c => c.StartsWith("BuildAsync", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_CanceledDuringBuild_StopsTheBuildAndSkipsTheRest()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var building = new TaskCompletionSource();
        h.Engine.Build = (_, token) => RunnerHarness.WaitUntilStopped(building, token);

        var job = await CancelWhenAsync(h, building.Task, JobStatus.Building);

        AssertCanceled(h, job, "lint:succeeded build:canceled scan:skipped run:skipped collect:skipped");
        Assert.DoesNotContain(h.Engine.Calls, c => c.StartsWith("CreateContainerAsync", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_CanceledDuringScan_CancelsTheScanAndSkipsTheRest()
    {
        await using var h = await RunnerHarness.CreateAsync(new Dictionary<string, string?> { ["Scan:Enabled"] = "true", ["Scan:RequireDatabase"] = "false" });
        var scanning = new TaskCompletionSource();
        h.Engine.Hold = (call, token) => call.StartsWith("InspectImageAsync sha256:", StringComparison.Ordinal) // the scan reads the built image by id
            ? RunnerHarness.WaitUntilStopped(scanning, token)
            : Task.CompletedTask;

        var job = await CancelWhenAsync(h, scanning.Task, JobStatus.Scanning);

        AssertCanceled(h, job, "lint:succeeded build:succeeded scan:canceled run:skipped collect:skipped");
        Assert.DoesNotContain(h.Engine.Calls, c => c.StartsWith("CreateContainerAsync", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_CanceledDuringRun_StopsAndRemovesTheContainer()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var running = new TaskCompletionSource();
        h.Engine.Run = (_, token) => RunnerHarness.WaitUntilStopped(running, token);

        var job = await CancelWhenAsync(h, running.Task, JobStatus.Running);

        AssertCanceled(h, job, $"{BeforeRun} run:canceled collect:skipped");
        Assert.Contains(h.Engine.Calls, c => c.StartsWith("StopContainerAsync ", StringComparison.Ordinal));
        Assert.Contains(h.Engine.Calls, c => c.StartsWith("RemoveContainerAsync ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_CanceledDuringRunAndTheEngineFailsTheStop_IsStillCanceled()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var running = new TaskCompletionSource();
        h.Engine.Run = (_, token) => RunnerHarness.WaitUntilStopped(running, token);
        h.Engine.FailOn = nameof(IContainerEngine.StopContainerAsync);

        var job = await CancelWhenAsync(h, running.Task, JobStatus.Running);

        AssertCanceled(h, job, $"{BeforeRun} run:canceled collect:skipped");
    }

    [Fact]
    public async Task RunAsync_AContainerStillHoldsTheJobsName_RemovesItAndRuns()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 2}");
        var submitted = await h.SubmitAsync();
        var leftover = h.Engine.AddContainer(h.Names.ContainerLabels(submitted.Id), h.Names.ContainerName(submitted.Id));

        await h.PumpAsync(h.StartRun(await h.ClaimAsync()));

        var job = await h.GetAsync(submitted.Id);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(2, job.Performance);
        Assert.DoesNotContain(h.Engine.Containers, c => c.Id == leftover);
    }

    [Fact]
    public async Task RunAsync_ServerStoppingDuringRun_RequeuesTheJobWithItsAttemptGivenBack()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var running = new TaskCompletionSource();
        h.Engine.Run = (_, token) => RunnerHarness.WaitUntilStopped(running, token);
        var submitted = await h.SubmitAsync();
        using var stopping = new CancellationTokenSource();

        var run = h.StartRun(await h.ClaimAsync(), stopping.Token);
        await running.Task.WaitAsync(SignalTimeout);
        await stopping.CancelAsync();
        await h.PumpAsync(run);

        var job = await h.GetAsync(submitted.Id);
        AssertRequeued(job, attempts: 0);
        Assert.Contains(h.Engine.Calls, c => c.StartsWith("StopContainerAsync ", StringComparison.Ordinal));
        h.AssertReleased(job); // the context stays for the next attempt
    }

    [Fact]
    public async Task StopAsync_WorkerRunningAJob_RequeuesItAndTheNextStartRunsItToTheEnd()
    {
        await using var first = await RunnerHarness.CreateAsync();
        var running = new TaskCompletionSource();
        first.Engine.Run = (_, token) => RunnerHarness.WaitUntilStopped(running, token);
        var submitted = await first.SubmitAsync();

        await first.Runner.StartAsync(CancellationToken.None);
        await running.Task.WaitAsync(SignalTimeout);
        await first.Runner.StopAsync(CancellationToken.None);

        var requeued = await first.GetAsync(submitted.Id);
        AssertRequeued(requeued, attempts: 0);
        first.AssertReleased(requeued);

        await using var next = await first.NextStartAsync();
        next.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 7}");
        await next.Runner.StartAsync(CancellationToken.None);
        await next.WaitForAsync(submitted.Id, j => j.Status.IsTerminal());
        await next.Runner.StopAsync(CancellationToken.None);

        var job = await next.GetAsync(submitted.Id);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(7, job.Performance);
        Assert.Equal(1, job.Attempts);
        next.AssertReleased(job);
    }

    /// <summary>Submits and starts a job, cancels it once <paramref name="waiting"/> says its stage waits, and returns it as stored at the end.</summary>
    private static async Task<Job> CancelWhenAsync(RunnerHarness h, Task waiting, JobStatus expected)
    {
        var submitted = await h.SubmitAsync();
        var run = h.StartRun(await h.ClaimAsync());
        await waiting.WaitAsync(SignalTimeout);
        Assert.Equal(expected, (await h.GetAsync(submitted.Id)).Status);

        Assert.True(h.Active.Cancel(submitted.Id));
        await h.PumpAsync(run);
        return await h.GetAsync(submitted.Id);
    }

    private static string Stages(Job job) => string.Join(" ", job.Stages.Select(s => $"{s.Name}:{s.Status.ToString().ToLowerInvariant()}"));

    /// <summary>Failed for <paramref name="reason"/> in the stage <paramref name="stages"/> shows, with everything released.</summary>
    private static void AssertFailed(RunnerHarness h, Job job, string reason, string stages)
    {
        h.AssertReleased(job);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(reason, job.Failure?.Reason);
        Assert.Equal(stages, Stages(job));
        Assert.NotNull(job.FinishedAt);
    }

    private static void AssertCanceled(RunnerHarness h, Job job, string stages)
    {
        h.AssertReleased(job);
        Assert.Equal(JobStatus.Canceled, job.Status);
        Assert.Null(job.Failure);
        Assert.Equal(stages, Stages(job));
        Assert.NotNull(job.FinishedAt);
    }

    private static void AssertRequeued(Job job, int attempts)
    {
        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(attempts, job.Attempts);
        Assert.Null(job.Failure);
        Assert.Null(job.StartedAt);
        Assert.Null(job.FinishedAt);
        Assert.All(job.Stages, s => Assert.Equal(StageStatus.Pending, s.Status));
    }
}
