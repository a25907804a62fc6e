using System.Diagnostics;
using System.Globalization;
using System.Net;
using Berth.Server.IntegrationTests.Fleet.Infrastructure;
using Xunit.Abstractions;

namespace Berth.Server.IntegrationTests.Fleet;

/// <summary>
/// The chaos tests' lab itself, before the agent and the PostgreSQL API exist: stand-ins (busybox httpd as a server, a
/// curl loop as an agent) where those will run, and the real API server where it already starts.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetLabTests(ITestOutputHelper output)
{
    /// <summary>A stand-in API server: busybox httpd on the server's port, answering /readyz with "ready".</summary>
    private static readonly Func<FleetLab, FleetServer, FleetCommand> StandInServer = (_, server) => new FleetCommand("sh", [
        "-c", "mkdir -p \"$1\" && echo ready > \"$1/readyz\" && exec busybox httpd -f -p \"0.0.0.0:$2\" -h \"$1\"", "sh",
        Path.Combine(server.DataRoot, "www"), server.Port.ToString(CultureInfo.InvariantCulture)]);

    /// <summary>A stand-in agent: polls every server as it reaches them, writing one status line per poll to its log.</summary>
    private static readonly Func<FleetLab, FleetAgent, FleetCommand> StandInAgent = (lab, agent) => new FleetCommand("sh", [
        "-c", "while :; do for u in \"$@\"; do curl -s -o /dev/null -m 1 -w \"poll %{http_code} $u\\n\" \"$u/readyz\"; done; sleep 0.2; done", "sh",
        .. lab.Servers.Select(s => s.UrlFor(agent).ToString().TrimEnd('/'))]);

    private static FleetLabOptions StandIns(int servers, int agents) => new()
    {
        Servers = servers,
        Agents = agents,
        ServerCommand = StandInServer,
        AgentCommand = StandInAgent,
    };

    [Fact]
    public async Task StartAsync_TwoServersThreeAgents_EveryPartAnswersWhereItShouldAndDisposeLeavesNothing()
    {
        var lab = await FleetLab.StartAsync(StandIns(servers: 2, agents: 3));
        var footprint = Footprint(lab);
        try
        {
            foreach (var server in lab.Servers)
            {
                // The test process (root namespace) reaches every server at the hub's address.
                Assert.Equal("ready", (await lab.Client(server).GetStringAsync(new Uri("/readyz", UriKind.Relative))).Trim());
            }
            foreach (var agent in lab.Agents)
            {
                Assert.Equal(agent.Namespace.Name, (await Shell.RunAsync("ip", "netns", "identify", Pid(agent.Engine.DaemonId))).Trim());
                Assert.Equal(agent.Namespace.Name, (await Shell.RunAsync("ip", "netns", "identify", Pid(agent.Process!.Id))).Trim());
                foreach (var server in lab.Servers)
                {
                    Assert.Equal("ready", await CurlAsync(agent, server.UrlFor(agent)));
                }
                // Nothing routes between links: another agent's way to the hub is not this agent's.
                var other = lab.Agents.First(a => a != agent);
                Assert.Null(await CurlAsync(agent, lab.Servers[0].UrlFor(other)));
                Assert.Null(await CurlAsync(agent, lab.Servers[0].Url));
                await AssertEngineRunsBusyboxAsync(agent);
            }
        }
        finally
        {
            var clock = Stopwatch.StartNew();
            await lab.DisposeAsync();
            output.WriteLine($"2 servers + 3 agents (stand-ins): started in {lab.StartupTime.TotalSeconds:F1} s, disposed in {clock.Elapsed.TotalSeconds:F1} s");
        }
        Assert.Empty(await footprint.LeftoversAsync());
        Assert.Empty(HostProcesses.Naming(lab.Root));
        Assert.DoesNotContain(lab.Id, await Shell.RunAsync("ip", "netns", "list"), StringComparison.Ordinal);
        Assert.DoesNotContain(lab.Id, await Shell.RunAsync("ip", "-o", "link", "show"), StringComparison.Ordinal);
        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), l => l.Contains(lab.Root, StringComparison.Ordinal));
        Assert.False(Directory.Exists(lab.LogDirectory), "the logs of a lab that passed are deleted");
        Assert.False(Directory.Exists(lab.Postgres.Root), "PostgreSQL's directory is deleted");
    }

    [Fact]
    public Task PartitionAsync_AgentCutOff_ItsRequestsTimeOutUntilHealedAndTheOthersGoOn() =>
        FleetLab.RunAsync(StandIns(servers: 1, agents: 2), async lab =>
        {
            var (cut, other) = (lab.Agents[0], lab.Agents[1]);
            var server = lab.Servers[0];
            Assert.Equal("ready", await CurlAsync(cut, server.UrlFor(cut)));

            await lab.PartitionAsync(cut);

            // Dropped without an answer: curl times out (28), it is not refused.
            var (code, _, _) = await cut.Namespace.RunAsync("curl", "-s", "-m", "2", server.UrlFor(cut) + "readyz");
            Assert.Equal(28, code);
            Assert.Equal("ready", await CurlAsync(other, server.UrlFor(other)));
            Assert.Equal(HttpStatusCode.OK, (await lab.Client(server).GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
            // The stand-in agent's own polls fail too (000: no answer).
            var marker = File.ReadAllLines(cut.Process!.LogPath).Length;
            Assert.True(await EventuallyAsync(() => File.ReadLines(cut.Process.LogPath).Skip(marker).Any(l => l.StartsWith("poll 000", StringComparison.Ordinal))),
                cut.Process.LogTail());

            await lab.HealAsync(cut);

            Assert.Equal("ready", await CurlAsync(cut, server.UrlFor(cut)));
            marker = File.ReadAllLines(cut.Process.LogPath).Length;
            Assert.True(await EventuallyAsync(() => File.ReadLines(cut.Process.LogPath).Skip(marker).Any(l => l.StartsWith("poll 200", StringComparison.Ordinal))),
                cut.Process.LogTail());

            // The other way to cut: the agent's own end down refuses at once (7: no route), and comes back when up.
            await cut.Link.SetDownAsync(LinkEnd.Right);
            Assert.Equal(7, (await cut.Namespace.RunAsync("curl", "-s", "-m", "2", server.UrlFor(cut) + "readyz")).ExitCode);
            await cut.Link.SetUpAsync(LinkEnd.Right);
            await cut.Link.WaitCarrierAsync(TimeSpan.FromSeconds(10));
            await cut.Link.ForgetNeighboursAsync();
            Assert.Equal("ready", await CurlAsync(cut, server.UrlFor(cut)));
        });

    [Fact]
    public Task KillAgentAsync_AgentAndEngine_EveryProcessOfThatAgentDiesAndTheRestartedEngineRunsNothingOld() =>
        FleetLab.RunAsync(StandIns(servers: 1, agents: 2), async lab =>
        {
            var (agent, other) = (lab.Agents[1], lab.Agents[0]);
            var runtimes = await RuntimesAsync(agent);
            var containers = new List<string>();
            foreach (var runtime in runtimes)
            {
                containers.Add((await DockerAsync(agent, "run", "-d", "--network", "none", "--runtime", runtime, "--label", "berth.job=j-lab",
                    "busybox:latest", "sleep", "1000")).Trim());
            }
            var bystander = (await DockerAsync(other, "run", "-d", "--network", "none", "busybox:latest", "sleep", "1000")).Trim();
            Assert.Same(agent, await lab.WaitForJobContainerAsync("j-lab"));
            var containerPids = new List<int>();
            foreach (var id in containers)
            {
                containerPids.Add(int.Parse((await DockerAsync(agent, "inspect", "-f", "{{.State.Pid}}", id)).Trim(), CultureInfo.InvariantCulture));
            }
            var before = (Agent: agent.Process!.Id, Daemon: agent.Engine.DaemonId);
            Assert.NotEmpty(await agent.Engine.Footprint.ProcessesAsync());

            await lab.KillAgentAsync(agent);

            Assert.False(HostProcesses.IsLive(before.Agent));
            Assert.False(HostProcesses.IsLive(before.Daemon));
            Assert.All(containerPids, pid => Assert.False(HostProcesses.IsLive(pid), $"container process {pid} survived"));
            Assert.Empty(await agent.Engine.Footprint.ProcessesAsync()); // no containerd, shim or runsc left
            Assert.Empty(HostProcesses.InCgroup(agent.Engine.CgroupParent));
            // The other agent and its engine are untouched.
            Assert.True(other.Process!.IsRunning);
            Assert.Equal("true", (await DockerAsync(other, "inspect", "-f", "{{.State.Running}}", bystander)).Trim());

            await lab.RestartAgentAsync(agent);

            Assert.True(agent.Process.IsRunning);
            Assert.NotEqual(before.Agent, agent.Process.Id);
            Assert.NotEqual(before.Daemon, agent.Engine.DaemonId);
            foreach (var id in containers)
            {
                Assert.Equal("false", (await DockerAsync(agent, "inspect", "-f", "{{.State.Running}}", id)).Trim());
            }
            Assert.Equal("ready", await CurlAsync(agent, lab.Servers[0].UrlFor(agent)));
        });

    [Fact]
    public Task KillDaemonAsync_DockerdAlone_ContainersRunOnUntilTheRestartedDaemonStopsThem() =>
        FleetLab.RunAsync(StandIns(servers: 1, agents: 1), async lab =>
        {
            var engine = lab.Agents[0].Engine;
            var id = (await DockerAsync(lab.Agents[0], "run", "-d", "--network", "none", "busybox:latest", "sleep", "1000")).Trim();
            var pid = int.Parse((await DockerAsync(lab.Agents[0], "inspect", "-f", "{{.State.Pid}}", id)).Trim(), CultureInfo.InvariantCulture);
            var daemon = engine.DaemonId;

            await engine.KillDaemonAsync();

            Assert.False(engine.IsRunning);
            Assert.False(HostProcesses.IsLive(daemon));
            Assert.True(HostProcesses.IsLive(pid), "the container runs on without its daemon (dockerd crashed, not the machine)");

            await engine.RestartAsync();

            Assert.True(await EventuallyAsync(() => !HostProcesses.IsLive(pid)), "a daemon without live-restore stops what it finds running");
            Assert.Equal("false", (await DockerAsync(lab.Agents[0], "inspect", "-f", "{{.State.Running}}", id)).Trim());
        });

    [Fact]
    public Task KillServerAsync_OneOfTwo_TheOtherAnswersAndTheRestartedOneAnswersAgain() =>
        FleetLab.RunAsync(StandIns(servers: 2, agents: 1), async lab =>
        {
            var (killed, other) = (lab.Servers[0], lab.Servers[1]);
            var agent = lab.Agents[0];
            var pid = killed.Process.Id;

            await lab.KillServerAsync(killed);

            Assert.False(HostProcesses.IsLive(pid));
            Assert.Null(await CurlAsync(agent, killed.UrlFor(agent)));
            Assert.Equal("ready", await CurlAsync(agent, other.UrlFor(agent)));

            await lab.RestartServerAsync(killed);

            Assert.NotEqual(pid, killed.Process.Id);
            Assert.Equal("ready", await CurlAsync(agent, killed.UrlFor(agent)));
            Assert.Contains("=== start 2", await File.ReadAllTextAsync(killed.Process.LogPath), StringComparison.Ordinal);
        });

    [Fact]
    public async Task StartAsync_BerthServers_AnswerTheTestAndEveryAgentWithTheLabsKeys()
    {
        // The API server as it is today (no agent yet): /healthz, and the lab's API keys accepted.
        var lab = await FleetLab.StartAsync(new FleetLabOptions { Servers = 2, Agents = 3, StartAgents = false, ServerReadiness = "/healthz" });
        try
        {
            foreach (var server in lab.Servers)
            {
                Assert.Equal(HttpStatusCode.OK, (await lab.Client(server, "alice").GetAsync(new Uri("/api/v1/jobs", UriKind.Relative))).StatusCode);
                using var anonymous = new HttpClient { BaseAddress = server.Url };
                Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/api/v1/jobs", UriKind.Relative))).StatusCode);
                foreach (var agent in lab.Agents)
                {
                    Assert.Contains("alive", await CurlAsync(agent, new Uri(server.UrlFor(agent), "healthz"), path: ""), StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            var clock = Stopwatch.StartNew();
            await lab.DisposeAsync();
            output.WriteLine($"2 Berth servers + 3 agents' engines: started in {lab.StartupTime.TotalSeconds:F1} s, disposed in {clock.Elapsed.TotalSeconds:F1} s");
        }
    }

    [Fact]
    public async Task RemoveAbandonedAsync_FootprintOfADeadTestProcess_EverythingRemovedAndALiveOnesKept()
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
        var dead = await DeadPidAsync();
        var abandoned = new HostFootprint(Path.Combine(Path.GetTempPath(), $"berth-fl-{id}"), dead, [$"berth-fl-{id}-x"], [], []);
        var live = abandoned with { Root = Path.Combine(Path.GetTempPath(), $"berth-fl-{id}-live"), Owner = Environment.ProcessId, Namespaces = [] };
        try
        {
            Directory.CreateDirectory(Path.Combine(abandoned.Root, "data"));
            Directory.CreateDirectory(live.Root);
            await abandoned.SaveAsync();
            await live.SaveAsync();
            var ns = await NetworkNamespace.CreateAsync($"berth-fl-{id}-x");
            using var sleeper = Process.Start("nsenter", [$"--net={ns.Path}", "sleep", "600"]);
            Assert.True(await EventuallyAsync(async () => (await ns.ProcessIdsAsync()).Contains(sleeper.Id)));
            Assert.NotEmpty(await abandoned.LeftoversAsync());

            await HostFootprint.RemoveAbandonedAsync("berth-fl-");

            Assert.Empty(await abandoned.LeftoversAsync());
            Assert.True(sleeper.HasExited);
            Assert.True(Directory.Exists(live.Root), "a footprint whose owner lives is not touched");
        }
        finally
        {
            await abandoned.RemoveAsync();
            await live.RemoveAsync();
        }
        Assert.Empty(await live.LeftoversAsync());
    }

    private static HostFootprint Footprint(FleetLab lab) => new(
        lab.Root, Environment.ProcessId,
        [lab.Hub.Name, .. lab.Agents.Select(a => a.Namespace.Name)],
        [lab.RootLink.LeftName],
        [.. lab.Agents.Select(a => a.Engine.CgroupParent)]);

    /// <summary>The body of GET <paramref name="url"/>/readyz from the agent's namespace, or null when it did not answer within 2 s.</summary>
    private static async Task<string?> CurlAsync(FleetAgent agent, Uri url, string path = "readyz")
    {
        var (code, body, _) = await agent.Namespace.RunAsync("curl", "-s", "-f", "-m", "2", new Uri(url, path).ToString());
        return code == 0 ? body.Trim() : null;
    }

    private static async Task AssertEngineRunsBusyboxAsync(FleetAgent agent)
    {
        Assert.Equal("OK", (await Shell.RunAsync("curl", "-s", "--unix-socket", agent.Engine.Endpoint.AbsolutePath, "http://engine/_ping")).Trim());
        foreach (var runtime in await RuntimesAsync(agent))
        {
            var result = await DockerAsync(agent, "run", "--rm", "--network", "none", "--runtime", runtime, "busybox:latest", "sh", "-c", "echo hello from $(hostname); ls /sys/class/net");
            Assert.StartsWith("hello from", result, StringComparison.Ordinal);
            Assert.Equal("lo", result.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim());
        }
    }

    /// <summary>runc, and runsc when the engine has it registered (the machine has gVisor).</summary>
    private static async Task<IReadOnlyList<string>> RuntimesAsync(FleetAgent agent)
    {
        var registered = await DockerAsync(agent, "info", "-f", "{{range $name, $_ := .Runtimes}}{{$name}} {{end}}");
        return ((string[])["runc", "runsc"]).Where(r => registered.Split(' ').Contains(r)).ToList();
    }

    private static Task<string> DockerAsync(FleetAgent agent, params string[] arguments) =>
        Shell.RunAsync("docker", ["-H", agent.Engine.Endpoint.ToString(), .. arguments]);

    private static string Pid(int pid) => pid.ToString(CultureInfo.InvariantCulture);

    private static async Task<int> DeadPidAsync()
    {
        using var process = Process.Start("true")!;
        await process.WaitForExitAsync();
        return process.Id;
    }

    private static Task<bool> EventuallyAsync(Func<bool> condition) => EventuallyAsync(() => Task.FromResult(condition()));

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(15))
            {
                return false;
            }
            await Task.Delay(100);
        }
        return true;
    }
}
