using System.Text.Json;
using Berth.Cli.Tests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Streams;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Cli.Tests.Jobs;

/// <summary>
/// <c>berth submit --wait</c> against a real Berth (the CLI follows the job's events stream) while the test moves the job
/// along as a worker would: the exit code says how the job ended, stderr shows its stages and why it failed.
/// </summary>
[Collection(CliServerCollection.Name)]
public sealed class WaitTests(CliServer server) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-cli-wait-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Dockerfile()
    {
        var path = Path.Combine(_dir, "Dockerfile");
        File.WriteAllText(path, "FROM busybox:latest\nCMD [\"true\"]\n");
        return path;
    }

    private static readonly string[] StageNames = ["lint", "build", "scan", "run", "collect"];

    private static JobStatus StatusOf(string stage) => stage switch
    {
        "lint" => JobStatus.Linting,
        "build" => JobStatus.Building,
        "scan" => JobStatus.Scanning,
        _ => JobStatus.Running,
    };

    /// <summary>Runs the stages up to <paramref name="failAt"/> (all of them when null) as a worker would, then ends the job.</summary>
    private async Task DriveAsync(string id, string? failAt, JobFailure? failure, double performance = 42.5)
    {
        var start = DateTimeOffset.UtcNow;
        await server.AdvanceAsync(id, j => j with { Status = JobStatus.Linting, StartedAt = start, Attempts = 1 });
        foreach (var stage in StageNames)
        {
            var now = DateTimeOffset.UtcNow;
            await server.AdvanceAsync(id, j => j.WithStage(stage, StageStatus.Running, now) with { Status = StatusOf(stage) });
            await Task.Delay(60);
            if (stage == failAt)
            {
                await server.AdvanceAsync(id, j => j.WithStage(stage, StageStatus.Failed, DateTimeOffset.UtcNow) with
                {
                    Status = JobStatus.Failed, Failure = failure, FinishedAt = DateTimeOffset.UtcNow, ExitCode = stage == "run" ? 3 : null,
                });
                return;
            }
            await server.AdvanceAsync(id, j => j.WithStage(stage, StageStatus.Succeeded, DateTimeOffset.UtcNow));
        }
        await server.AdvanceAsync(id, j => j with { Status = JobStatus.Succeeded, Performance = performance, FinishedAt = DateTimeOffset.UtcNow, ExitCode = 0 });
    }

    [Fact]
    public async Task SubmitWait_JobSucceeds_Exits0WithStagesOnStderrAndTheJobOnStdout()
    {
        var name = "wait-ok-" + Guid.NewGuid().ToString("N")[..8];
        var cli = CliRun.RunAsync(server.Url, "submit", Dockerfile(), "--name", name, "--wait");
        var job = await server.WaitForNamedAsync(name);
        await DriveAsync(job.Id, null, null);

        var result = await cli;

        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        Assert.Contains($"berth: job {job.Id} queued ({name})", result.Err, StringComparison.Ordinal);
        foreach (var stage in StageNames)
        {
            Assert.Contains($"berth: {stage} succeeded in ", result.Err, StringComparison.Ordinal);
        }
        Assert.Contains($"berth: job {job.Id} succeeded after", result.Err, StringComparison.Ordinal);
        Assert.Contains("(performance 42.5)", result.Err, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^status\s+succeeded$", result.Out);
        Assert.Matches(@"(?m)^performance\s+42\.5$", result.Out);
        Assert.Matches(@"(?m)^stage\s+run\s+succeeded\s+\d+\.\d s$", result.Out);
    }

    public static TheoryData<string, string, string> Failures => new()
    {
        { "lint", FailureReasons.LintRejected, "line 1: the base image must be pinned by digest" },
        { "build", FailureReasons.BuildFailed, "step 2/3 RUN make: exit code 2" },
        { "build", FailureReasons.BaseImageMissing, "busybox:nope is not in the allowed local images" },
        { "scan", FailureReasons.Vulnerable, "1 high finding: PYSEC-2023-192 in urllib3 1.26.16" },
        { "scan", FailureReasons.SecretsFound, "a private key in /app/key.pem" },
        { "run", FailureReasons.NonzeroExit, "the program exited with code 3" },
        { "run", FailureReasons.Timeout, "the run took longer than 30 s" },
        { "run", FailureReasons.OutOfMemory, "the run used more than 128 MiB" },
        { "collect", FailureReasons.PerfMissing, "the program wrote no /data/perf.json" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task SubmitWait_JobFails_Exits1AndNamesTheReasonAndMessage(string stage, string reason, string message)
    {
        var name = $"wait-{reason}-" + Guid.NewGuid().ToString("N")[..8];
        var cli = CliRun.RunAsync(server.Url, "submit", Dockerfile(), "--name", name, "--wait");
        var job = await server.WaitForNamedAsync(name);
        await DriveAsync(job.Id, stage, new JobFailure(reason, message));

        var result = await cli;

        Assert.True(result.Exit == BerthCommands.JobFailed, result.Err);
        Assert.Contains($"berth: {stage} failed in ", result.Err, StringComparison.Ordinal);
        Assert.Contains($"berth: job {job.Id} failed after", result.Err, StringComparison.Ordinal);
        Assert.Contains($": {reason}: {message}", result.Err, StringComparison.Ordinal);
        Assert.Matches($@"(?m)^failure\s+{reason}: {System.Text.RegularExpressions.Regex.Escape(message)}$", result.Out);
    }

    [Fact]
    public async Task SubmitWait_JobFailsWithJsonOutput_PrintsTheJobViewAndExits1()
    {
        var name = "wait-json-" + Guid.NewGuid().ToString("N")[..8];
        var cli = CliRun.RunAsync(server.Url, "submit", Dockerfile(), "--name", name, "--wait", "--output", "json");
        var job = await server.WaitForNamedAsync(name);
        await DriveAsync(job.Id, "run", new JobFailure(FailureReasons.NonzeroExit, "the program exited with code 3"));

        var result = await cli;

        Assert.Equal(BerthCommands.JobFailed, result.Exit);
        var view = JsonDocument.Parse(result.Out).RootElement;
        Assert.Equal(job.Id, view.GetProperty("id").GetString());
        Assert.Equal("failed", view.GetProperty("status").GetString());
        Assert.Equal("nonzero_exit", view.GetProperty("failure").GetProperty("reason").GetString());
        Assert.Equal(3, view.GetProperty("exitCode").GetInt32());
        Assert.Equal(5, view.GetProperty("stages").GetArrayLength());
    }

    [Fact]
    public async Task SubmitWait_CanceledFromAnotherShell_Exits1AndSaysCanceled()
    {
        var name = "wait-cancel-" + Guid.NewGuid().ToString("N")[..8];
        var cli = CliRun.RunAsync(server.Url, "submit", Dockerfile(), "--name", name, "--wait");
        var job = await server.WaitForNamedAsync(name);

        var cancel = await CliRun.RunAsync(server.Url, "cancel", job.Id);
        var result = await cli;

        Assert.Equal(BerthCommands.Pass, cancel.Exit);
        Assert.Matches(@"(?m)^status\s+canceled$", cancel.Out);
        Assert.Equal(BerthCommands.JobFailed, result.Exit);
        Assert.Contains($"berth: job {job.Id} canceled", result.Err, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^status\s+canceled$", result.Out);
        Assert.Equal(JobStatus.Canceled, (await server.GetAsync(job.Id)).Status);
    }

    [Fact]
    public async Task SubmitLogs_WaitsAndPrintsTheBuildAndRunLogOnStderrNotStdout()
    {
        var name = "wait-logs-" + Guid.NewGuid().ToString("N")[..8];
        var cli = CliRun.RunAsync(server.Url, "submit", Dockerfile(), "--name", name, "--logs");
        var job = await server.WaitForNamedAsync(name);
        await server.WriteFileAsync(job.Id, JobFile.BuildLog, "Step 1/2 : FROM busybox:latest\n");
        await server.WriteFileAsync(job.Id, JobFile.RunLog, "hello from the job\n");
        await DriveAsync(job.Id, null, null);

        var result = await cli;

        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        Assert.Contains("Step 1/2 : FROM busybox:latest", result.Err, StringComparison.Ordinal);
        Assert.Contains("hello from the job", result.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("hello from the job", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitWait_Interrupted_DetachesWithExit130AndLeavesTheJobQueued()
    {
        var name = "wait-detach-" + Guid.NewGuid().ToString("N")[..8];
        var run = new CliRun(server.Url);
        var cli = run.RunAsync("submit", Dockerfile(), "--name", name, "--wait");
        var job = await server.WaitForNamedAsync(name);
        var feed = server.Services.GetRequiredService<JobChanges>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (feed.SubscribersOf(job.Id) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20); // the CLI has its answer and follows the job's events
        }

        await run.Interrupt.CancelAsync();
        var result = await cli;

        Assert.Equal(BerthCommands.Interrupted, result.Exit);
        Assert.Contains($"detached from job {job.Id}", result.Err, StringComparison.Ordinal);
        Assert.Contains($"./berth cancel {job.Id}", result.Err, StringComparison.Ordinal);
        Assert.Equal(JobStatus.Queued, (await server.GetAsync(job.Id)).Status);
    }

    [Fact]
    public async Task SubmitWait_InterruptedBeforeTheServerAnswers_Exits130SayingTheJobMayExist()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0); // accepts, never answers
        silent.Start();
        var url = new Uri($"http://127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}");
        var run = new CliRun(url);
        var cli = run.RunAsync("submit", Dockerfile(), "--wait");
        using var connection = await silent.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await run.Interrupt.CancelAsync();
        var result = await cli.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(BerthCommands.Interrupted, result.Exit);
        Assert.Contains("may or may not have been submitted", result.Err, StringComparison.Ordinal);
        Assert.Contains("./berth jobs", result.Err, StringComparison.Ordinal);
        Assert.Equal("", result.Out);
    }
}
