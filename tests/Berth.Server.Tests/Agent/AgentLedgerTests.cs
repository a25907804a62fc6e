using System.Text;
using Berth.Server.Agent;
using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Fleet;
using Berth.Server.Http;
using Berth.Server.Jobs;
using Berth.Server.Tests.Fakes;
using Berth.Server.Tests.Pipeline;

namespace Berth.Server.Tests.Agent;

/// <summary>
/// The agent end to end: <see cref="AgentHarness"/> (the real pipeline on the fake engine, real time) against
/// <see cref="FakeFleetServer"/> over loopback HTTP. Leases are a few seconds long, so each test takes a few seconds.
/// </summary>
public sealed class AgentLedgerTests
{
    private static readonly Func<FakeContainer, CancellationToken, Task> Succeeds = RunnerHarness.WritesPerf("{\"perf\": 2}");

    [Fact]
    public async Task ClaimNextAsync_JobQueued_RunsItStreamsItsLogsInOrderAndPostsTheResultOnce()
    {
        await using var api = await FakeFleetServer.StartAsync();
        var job = await api.EnqueueAsync();
        var engine = AgentHarness.NewEngine();
        const string First = "first line of the run\n";
        var rest = new string('x', 1_500_000) + "\nlast line\n"; // more than one chunk
        engine.Run = async (container, token) =>
        {
            container.Write(First);
            await FakeFleetServer.WaitUntilAsync(() => job.LogText(JobLog.Run) == First, "the first line reached the API while the job runs");
            container.Write(rest);
            var directory = Path.GetDirectoryName(container.Spec.HostConfig.Mounts[0].Source)!;
            await File.WriteAllTextAsync(Path.Combine(directory, "scan-report.json"), "{\"report\":1}", token);
            await File.WriteAllTextAsync(Path.Combine(directory, "sbom.cdx.json"), "{\"sbom\":1}", token);
            await RunnerHarness.WritesPerf("{\"perf\": 42.5}")(container, token);
        };

        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await FakeFleetServer.WaitUntilAsync(() => !job.Results.IsEmpty, "the result arrived");

        var result = Assert.Single(job.Results);
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal(42.5, result.Performance);
        Assert.Equal(AgentHarness.Name, result.Agent);
        Assert.Equal("lint:succeeded build:succeeded scan:skipped run:succeeded collect:succeeded",
            string.Join(" ", result.Stages.Select(s => $"{s.Name}:{s.Status.ToString().ToLowerInvariant()}")));
        Assert.Contains(job.Heartbeats, progress => progress?.Status == JobStatus.Running);
        Assert.Equal(First + rest, job.LogText(JobLog.Run));
        Assert.Contains("Step 1/1 : FROM busybox", job.LogText(JobLog.Build), StringComparison.Ordinal);
        foreach (var log in new[] { JobLog.Build, JobLog.Run })
        {
            // Each chunk starts where the API's log ended, none is over 1 MiB, none is sent twice.
            var appends = job.Appends.Where(a => a.Log == log).ToList();
            Assert.Equal(job.LogBytes(log).Length, appends.Sum(a => (long)a.Length));
            var expected = 0L;
            foreach (var append in appends)
            {
                Assert.Equal(expected, append.Offset);
                Assert.InRange(append.Length, 1, LogShipper.MaxChunk);
                expected += append.Length;
            }
        }
        Assert.True(job.Appends.Count(a => a.Log == JobLog.Run) >= 3, "the first line while running, then the rest in two chunks");
        Assert.Equal(0, job.Gaps);
        Assert.Equal("{\"report\":1}", Encoding.UTF8.GetString(job.FileOf(JobFile.ScanReport)!));
        Assert.Equal("{\"sbom\":1}", Encoding.UTF8.GetString(job.FileOf(JobFile.Sbom)!));
        await FakeFleetServer.WaitUntilAsync(() => !Directory.Exists(agent.PathsOf(job.Id).Directory), "the job's directory is gone");
        Assert.False(agent.HoldsContainerOf(job.Id));
        Assert.True(engine.HasImage(agent.Names.ImageTag(job.Id)), "the image stays for Build:ImageRetentionSeconds");
        Assert.Single(api.Requests, r => r.StartsWith($"POST {AgentProtocol.Result(job.Id)} ", StringComparison.Ordinal));
        Assert.Equal(0, job.StaleWrites);
    }

    [Fact]
    public async Task Heartbeat_UserCanceled_EndsTheJobCanceledAndRemovesItsContainer()
    {
        await using var api = await FakeFleetServer.StartAsync();
        var job = await api.EnqueueAsync();
        var (engine, started) = RunsUntilStopped();
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        api.RequestCancel(job);
        await FakeFleetServer.WaitUntilAsync(() => !job.Results.IsEmpty, "the result arrived");

        var result = Assert.Single(job.Results);
        Assert.Equal(JobStatus.Canceled, result.Status);
        Assert.Equal(StageStatus.Canceled, result.Stages.Single(s => s.Name == "run").Status);
        Assert.False(agent.HoldsContainerOf(job.Id));
        Assert.Contains(engine.Calls, c => c.StartsWith(nameof(FakeEngine.StopContainerAsync), StringComparison.Ordinal));
        await FakeFleetServer.WaitUntilAsync(() => !Directory.Exists(agent.PathsOf(job.Id).Directory), "the job's directory is gone");
    }

    [Fact]
    public async Task Lease_WriteAnswered409_KillsTheContainerAndSendsNothingMore()
    {
        await using var api = await FakeFleetServer.StartAsync();
        var job = await api.EnqueueAsync();
        var (engine, started) = RunsUntilStopped();
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        api.GiveToAnotherAgent(job);
        await FakeFleetServer.WaitUntilAsync(() => !agent.HoldsContainerOf(job.Id) && !Directory.Exists(agent.PathsOf(job.Id).Directory),
            "the job's container and directory are gone");
        var sent = api.Requests.Count(r => r.Contains(job.Id, StringComparison.Ordinal));
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // more than a heartbeat interval and a log round

        Assert.Empty(job.Results);
        Assert.DoesNotContain(api.Requests, r => r.StartsWith($"POST {AgentProtocol.Result(job.Id)} ", StringComparison.Ordinal));
        Assert.Equal(sent, api.Requests.Count(r => r.Contains(job.Id, StringComparison.Ordinal)));
        Assert.Contains(agent.Log.Lines, l => l.Contains($"Job {job.Id}: lease lost: the API answered 409", StringComparison.Ordinal));
        Assert.Equal(1, job.Claims); // the agent's worker goes on claiming, and the job is not queued
    }

    /// <summary>A claimed job whose limits exceed the agent's own maxima is not run: no server can lift an agent's limits.</summary>
    [Fact]
    public async Task ClaimNextAsync_LimitsAboveTheAgentsMaxima_DropsTheClaimAndRunsNothing()
    {
        await using var api = await FakeFleetServer.StartAsync();
        var job = await api.EnqueueAsync(timeoutSeconds: 10 * 24 * 3600);
        var engine = AgentHarness.NewEngine();
        engine.Run = Succeeds;
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await FakeFleetServer.WaitUntilAsync(() => job.Claims > 0, "the job was claimed");
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Empty(job.Results);
        Assert.Empty(job.Heartbeats);
        Assert.Empty(engine.Containers);
    }

    /// <summary>An idle agent's claim waits longer than a lease before a job arrives: the lease runs from the answer, not from the request.</summary>
    [Fact]
    public async Task ClaimNextAsync_LongPollLongerThanTheLease_KeepsTheLeaseAndCompletes()
    {
        await using var api = await FakeFleetServer.StartAsync();
        api.LeaseSeconds = 3;
        api.MaxClaimWait = TimeSpan.FromSeconds(20);
        var engine = AgentHarness.NewEngine();
        engine.Run = Succeeds;
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await Task.Delay(TimeSpan.FromSeconds(5)); // the claim has been waiting longer than a lease

        var job = await api.EnqueueAsync();
        await FakeFleetServer.WaitUntilAsync(() => !job.Results.IsEmpty, "the result arrived", seconds: 30);

        Assert.Equal(JobStatus.Succeeded, Assert.Single(job.Results).Status);
        Assert.Equal(0, job.StaleWrites);
        Assert.Equal(1, job.Claims);
    }

    [Fact]
    public async Task Lease_Api503ForLessThanTheLease_RetriesAndTheJobCompletes()
    {
        await using var api = await FakeFleetServer.StartAsync();
        api.LeaseSeconds = 9; // a heartbeat every 3 s
        var job = await api.EnqueueAsync();
        var engine = AgentHarness.NewEngine();
        engine.Run = async (container, token) =>
        {
            api.Outage = 503;
            container.Write("during the outage\n");
            await Task.Delay(TimeSpan.FromSeconds(3.5), token); // a heartbeat and log rounds fail
            api.Outage = null;
            await Succeeds(container, token);
        };
        api.FailNext($"POST {AgentProtocol.Result(job.Id)}", 2, 503);
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await FakeFleetServer.WaitUntilAsync(() => !job.Results.IsEmpty, "the result arrived", seconds: 30);

        var result = Assert.Single(job.Results);
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("during the outage\n", job.LogText(JobLog.Run));
        var answers = api.Requests.ToList();
        Assert.Contains($"POST {AgentProtocol.Heartbeat(job.Id)} 503 @{api.Url.Port}", answers);
        Assert.Contains(answers, r => r.StartsWith($"PUT {AgentProtocol.Prefix}/jobs/{job.Id}/logs/", StringComparison.Ordinal) && r.Contains(" 503 ", StringComparison.Ordinal));
        Assert.Equal(
            [$"POST {AgentProtocol.Result(job.Id)} 503", $"POST {AgentProtocol.Result(job.Id)} 503", $"POST {AgentProtocol.Result(job.Id)} 204"],
            answers.Where(r => r.StartsWith($"POST {AgentProtocol.Result(job.Id)} ", StringComparison.Ordinal)).Select(r => r[..r.LastIndexOf(" @", StringComparison.Ordinal)]));
        Assert.DoesNotContain(agent.Log.Lines, l => l.Contains("lease lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lease_NoHeartbeatThroughForTheLease_AgentKillsItsContainerItself()
    {
        await using var api = await FakeFleetServer.StartAsync();
        api.LeaseSeconds = 3;
        var job = await api.EnqueueAsync();
        var (engine, started) = RunsUntilStopped();
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        api.Outage = 503; // a partition, as the agent sees it
        await FakeFleetServer.WaitUntilAsync(() => !agent.HoldsContainerOf(job.Id) && !Directory.Exists(agent.PathsOf(job.Id).Directory),
            "the job's container and directory are gone", seconds: 15);

        Assert.Empty(job.Results);
        Assert.Contains(agent.Log.Lines, l => l.Contains($"Job {job.Id}: lease lost: no heartbeat got through for 3 s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lease_DatabaseDownLongerThanTheLeaseWithinTheGrace_JobRunsOnAndCompletesOnItsOnlyClaim()
    {
        await using var api = await FakeFleetServer.StartAsync();
        api.LeaseSeconds = 3;
        api.ReconnectGraceSeconds = 30;
        var job = await api.EnqueueAsync();
        var engine = AgentHarness.NewEngine();
        engine.Run = async (container, token) =>
        {
            api.OutageTitle = StoreUnavailable.Title;
            api.Outage = 503; // the API servers are up, their database is not
            container.Write("through the outage\n");
            await Task.Delay(TimeSpan.FromSeconds(7), token); // more than two leases
            api.Outage = null;
            await Succeeds(container, token);
        };
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await FakeFleetServer.WaitUntilAsync(() => !job.Results.IsEmpty, "the result arrived", seconds: 40);

        var result = Assert.Single(job.Results);
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal(1, job.Claims);
        Assert.Equal("through the outage\n", job.LogText(JobLog.Run));
        Assert.True(api.Requests.Count(r => r.StartsWith($"POST {AgentProtocol.Heartbeat(job.Id)} 503 ", StringComparison.Ordinal)) >= 3,
            "heartbeats were answered 503 for more than a lease");
        Assert.DoesNotContain(agent.Log.Lines, l => l.Contains("lease lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lease_DatabaseDownThenApiCutOff_AgentKillsItsContainerWhenTheGraceRunsOut()
    {
        await using var api = await FakeFleetServer.StartAsync();
        api.LeaseSeconds = 3;
        api.ReconnectGraceSeconds = 6;
        var job = await api.EnqueueAsync();
        var (engine, started) = RunsUntilStopped();
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        api.OutageTitle = StoreUnavailable.Title;
        api.Outage = 503;
        await FakeFleetServer.WaitUntilAsync(() => api.Requests.Count(r => r.StartsWith($"POST {AgentProtocol.Heartbeat(job.Id)} 503 ", StringComparison.Ordinal)) >= 2,
            "two heartbeats were answered: the database is down");
        api.OutageTitle = "outage"; // and now a partition, as the agent sees it: nothing says the database is down
        var cut = System.Diagnostics.Stopwatch.StartNew();
        await FakeFleetServer.WaitUntilAsync(() => !agent.HoldsContainerOf(job.Id) && !Directory.Exists(agent.PathsOf(job.Id).Directory),
            "the job's container and directory are gone", seconds: 20);

        // The last "database down" answer came at most a heartbeat retry (1 s) before the cut: the grace ran 5 s past it at least.
        Assert.True(cut.Elapsed > TimeSpan.FromSeconds(api.ReconnectGraceSeconds - 1.5), $"the job was stopped {cut.Elapsed.TotalSeconds:F1} s after the cut, within the grace");
        Assert.Empty(job.Results);
        Assert.Contains(agent.Log.Lines, l => l.Contains($"Job {job.Id}: lease lost: no heartbeat got through within the reconnect grace (6 s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lease_DatabaseDownAndNoGrace_AgentKillsItsContainerAfterTheLease()
    {
        await using var api = await FakeFleetServer.StartAsync();
        api.LeaseSeconds = 3;
        var job = await api.EnqueueAsync();
        var (engine, started) = RunsUntilStopped();
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        api.OutageTitle = StoreUnavailable.Title;
        api.Outage = 503;
        await FakeFleetServer.WaitUntilAsync(() => !agent.HoldsContainerOf(job.Id) && !Directory.Exists(agent.PathsOf(job.Id).Directory),
            "the job's container and directory are gone", seconds: 15);

        Assert.Empty(job.Results);
        Assert.Contains(agent.Log.Lines, l => l.Contains($"Job {job.Id}: lease lost: no heartbeat got through for 3 s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ClaimNextAsync_FirstServerRefusesConnections_WorksThroughTheSecond()
    {
        await using var api = await FakeFleetServer.StartAsync();
        var job = await api.EnqueueAsync();
        var engine = AgentHarness.NewEngine();
        engine.Run = Succeeds;

        await using var agent = await AgentHarness.StartAsync([FakeFleetServer.ClosedPort(), api.Url], engine);
        await FakeFleetServer.WaitUntilAsync(() => !job.Results.IsEmpty, "the result arrived");

        Assert.Equal(JobStatus.Succeeded, Assert.Single(job.Results).Status);
    }

    [Fact]
    public async Task Lease_ServerGoesDownMidJob_TheJobCarriesOnThroughTheOther()
    {
        await using var api = await FakeFleetServer.StartAsync(listeners: 2);
        var (a, b) = (api.Urls[0], api.Urls[1]);
        var job = await api.EnqueueAsync();
        var engine = AgentHarness.NewEngine();
        engine.Run = async (container, token) =>
        {
            api.TakeDown(a);
            container.Write("after A went down\n");
            await Task.Delay(TimeSpan.FromSeconds(1.5), token); // log rounds and a heartbeat go to B
            await Succeeds(container, token);
        };

        await using var agent = await AgentHarness.StartAsync([a, b], engine);
        await FakeFleetServer.WaitUntilAsync(() => !job.Results.IsEmpty, "the result arrived");

        Assert.Equal(JobStatus.Succeeded, Assert.Single(job.Results).Status);
        Assert.Equal("after A went down\n", job.LogText(JobLog.Run));
        Assert.Contains(api.Requests, r => r.StartsWith($"POST {AgentProtocol.Claim} 200", StringComparison.Ordinal) && r.EndsWith($"@{a.Port}", StringComparison.Ordinal));
        Assert.Contains(api.Requests, r => r.StartsWith($"POST {AgentProtocol.Result(job.Id)} 204", StringComparison.Ordinal) && r.EndsWith($"@{b.Port}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_APreviousRunLeftResources_RemovesThemAndNothingOfAnotherInstance()
    {
        var root = Directory.CreateTempSubdirectory("berth-agent-restart-").FullName;
        try
        {
            var names = new EngineNames(InstanceIdentity.LoadOrCreate(root).Id); // the previous run's identity: the same data root
            var others = new EngineNames("0123456789ab");
            const string Old = "0123456789abcdef0123456789abcdef";
            var engine = AgentHarness.NewEngine();
            var mine = engine.AddContainer(names.ContainerLabels(Old), names.ContainerName(Old));
            var theirs = engine.AddContainer(others.ContainerLabels(Old), others.ContainerName(Old));
            engine.AddImage(names.ImageTag(Old));
            engine.AddImage(others.ImageTag(Old));
            var paths = JobPaths.For(Path.Combine(root, "jobs"), Old);
            Directory.CreateDirectory(paths.Directory);
            await File.WriteAllTextAsync(paths.BuildLog, "left by the previous run");
            var volumes = new FakeDataVolumes();
            await volumes.PrepareAsync(paths, 4, 100_000, CancellationToken.None); // a /data still mounted, made a moment ago

            await using var api = await FakeFleetServer.StartAsync();
            await using var agent = await AgentHarness.StartAsync([api.Url], engine, root, volumes: volumes);
            await FakeFleetServer.WaitUntilAsync(() => api.Requests.Any(r => r.StartsWith($"POST {AgentProtocol.Claim}", StringComparison.Ordinal)),
                "the agent claims (after its start-up sweep)");

            Assert.DoesNotContain(engine.Containers, c => c.Id == mine);
            Assert.False(engine.HasImage(names.ImageTag(Old)));
            Assert.False(volumes.Holds(paths));
            Assert.False(Directory.Exists(paths.Directory));
            Assert.Contains(engine.Containers, c => c.Id == theirs);
            Assert.True(engine.HasImage(others.ImageTag(Old)));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Stop_JobRunning_GivesItBackWithoutCountingTheAttemptAndCleansUp()
    {
        await using var api = await FakeFleetServer.StartAsync();
        var job = await api.EnqueueAsync();
        var (engine, started) = RunsUntilStopped();
        await using var agent = await AgentHarness.StartAsync([api.Url], engine);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        await agent.StopAsync();

        Assert.Equal(1, job.Releases);
        Assert.Equal(JobStatus.Queued, job.Job.Status);
        Assert.Equal(0, job.Job.Attempts);
        Assert.Empty(job.Results);
        Assert.False(agent.HoldsContainerOf(job.Id));
        Assert.False(Directory.Exists(agent.PathsOf(job.Id).Directory));
        Assert.False(engine.HasImage(agent.Names.ImageTag(job.Id)));
    }

    private static (FakeEngine Engine, TaskCompletionSource Started) RunsUntilStopped()
    {
        var engine = AgentHarness.NewEngine();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.Run = (_, token) => RunnerHarness.WaitUntilStopped(started, token);
        return (engine, started);
    }
}
