using System.Text.Json;
using Berth.Cli.Tests.Infrastructure;

namespace Berth.Cli.Tests.Http;

/// <summary>
/// <c>submit --wait</c> against a server that has the events stream and the followed log (a loopback stand-in until
/// the real routes land): progress comes from the events, the log from <c>?follow=true</c>, and the job is never polled.
/// </summary>
public sealed class EventsWaitTests : IDisposable
{
    private readonly string _dockerfile = Path.Combine(Directory.CreateTempSubdirectory("berth-cli-events-").FullName, "Dockerfile");

    public EventsWaitTests() => File.WriteAllText(_dockerfile, "FROM busybox:latest\n");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_dockerfile)!, recursive: true);

    [Fact]
    public async Task SubmitWaitLogs_EventsToAFailure_PrintsStagesLogAndReasonAndExits1WithoutPolling()
    {
        await using var server = new FakeEventsServer();
        server.Events.AddRange(
        [
            null,
            FakeEventsServer.Job("queued"),
            FakeEventsServer.Job("linting", ["running"]),
            null,
            FakeEventsServer.Job("building", ["succeeded", "running"]),
            FakeEventsServer.Job("running", ["succeeded", "succeeded", "succeeded", "running"]),
            FakeEventsServer.Job("failed", ["succeeded", "succeeded", "succeeded", "failed", "skipped"], ("nonzero_exit", "the program exited with code 3")),
        ]);
        await server.StartAsync();

        var result = await new CliRun(server.Url).RunAsync("submit", _dockerfile, "--wait", "--logs", "--output", "json").WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(BerthCommands.JobFailed, result.Exit);
        Assert.Equal(0, server.Polls);
        Assert.True(server.FollowAsked);
        var id = FakeEventsServer.Id;
        Assert.Contains($"berth: job {id} queued (fake)\n", result.Err, StringComparison.Ordinal);
        Assert.Contains("berth: lint running\n", result.Err, StringComparison.Ordinal);
        Assert.Contains("berth: lint succeeded in 2.0 s\n", result.Err, StringComparison.Ordinal);
        Assert.Contains("berth: run failed in 2.0 s\n", result.Err, StringComparison.Ordinal);
        Assert.Contains("berth: collect skipped\n", result.Err, StringComparison.Ordinal);
        Assert.Contains($"berth: job {id} failed after 8.0 s: nonzero_exit: the program exited with code 3\n", result.Err, StringComparison.Ordinal);
        Assert.Contains("Step 1/2 : FROM busybox\n", result.Err, StringComparison.Ordinal); // whole lines, never cut by a progress line
        Assert.Contains("score 0.97\n", result.Err, StringComparison.Ordinal);
        Assert.Equal("nonzero_exit", JsonDocument.Parse(result.Out).RootElement.GetProperty("failure").GetProperty("reason").GetString());
        Assert.Equal(1, result.Err.Split('\n').Count(l => l == "berth: lint running")); // a repeated view prints nothing new
    }

    [Fact]
    public async Task SubmitWait_StreamEndsBeforeTheJob_FallsBackToPollingUntilItEnds()
    {
        await using var server = new FakeEventsServer { EndStream = false };
        server.Events.Add(FakeEventsServer.Job("building", ["succeeded", "running"]));
        server.Final = FakeEventsServer.Job("succeeded", ["succeeded", "succeeded", "succeeded", "succeeded", "succeeded"], performance: 0.97);
        await server.StartAsync();

        var result = await new CliRun(server.Url).RunAsync("submit", _dockerfile, "--wait").WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        Assert.True(server.Polls >= 1);
        Assert.True(result.Err.Contains("berth: build running\n", StringComparison.Ordinal), result.Err);
        Assert.Contains($"berth: job {FakeEventsServer.Id} succeeded after 8.0 s (performance 0.97)", result.Err, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^status\s+succeeded$", result.Out);
    }
}
