using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Tests.Shared;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>
/// A Berth fleet on one machine, for chaos tests: a PostgreSQL cluster of its own, API servers in a "hub" network
/// namespace, and agents each in a namespace of its own with a dockerd of its own. Each agent reaches the hub over one
/// veth pair (cut it: <see cref="PartitionAsync"/>); the test process reaches the hub over another. Nothing routes
/// beyond: no traffic leaves the lab's namespaces, and no address of the machine is used (<see cref="LabSubnet"/>).
/// PostgreSQL listens on a Unix socket, which every namespace reaches (the file system is shared).
/// Every process's output is in <see cref="LogDirectory"/>. Disposing removes everything the lab made and fails
/// when anything is left (processes, mounts, namespaces, veths, cgroups, directories).
/// </summary>
/// <example>
/// <code>
/// await FleetLab.RunAsync(new FleetLabOptions { ServerSettings = new Dictionary&lt;string, string&gt; { ["Fleet:LeaseSeconds"] = "6" } }, async lab =>
/// {
///     var job = await lab.Api(lab.Servers[0], "alice").SubmitAsync(BerthApi.Busybox("sleep 20"));
///     var first = await lab.WaitForJobContainerAsync(job.Id);    // the agent that runs it
///     await lab.KillAgentAsync(first);                            // agent and engine, SIGKILL
///     var done = await lab.Api(lab.Servers[1], "alice").WaitTerminalAsync(job.Id, 120);
///     Assert.Equal(JobStatus.Succeeded, done.Status);
///     await lab.RestartAgentAsync(first);
///     Assert.Empty(await first.LeftoversAsync());
/// });
/// </code>
/// </example>
public sealed class FleetLab : IAsyncDisposable
{
    /// <summary>The owner of the lab's admin key (role <c>admin</c>).</summary>
    public const string Admin = "admin";

    private const string Prefix = "berth-fl-";
    private const int FirstPort = 8081;
    private static readonly TimeSpan ServerStartTimeout = TimeSpan.FromSeconds(90);

    private readonly FleetLabOptions _options;
    private readonly HostFootprint _footprint;
    private readonly Dictionary<string, string> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<(int Server, string Owner), HttpClient> _clients = [];
    private readonly List<FleetServer> _servers = [];
    private readonly List<FleetAgent> _agents = [];
    private readonly string[] _agentTokens;
    private bool _keepLogs;
    private bool _disposed;

    private FleetLab(string id, FleetLabOptions options)
    {
        Id = id;
        _options = options;
        Root = Path.Combine(Path.GetTempPath(), Prefix + id);
        LogDirectory = Path.Combine(Path.GetTempPath(), $"{Prefix}logs-{id}");
        _footprint = new HostFootprint(
            Root, Environment.ProcessId,
            [HubName, .. Enumerable.Range(1, options.Agents).Select(AgentName)],
            [RootLinkName],
            [.. Enumerable.Range(1, options.Agents).Select(AgentName)]);
        _agentTokens = [.. Enumerable.Range(1, options.Agents).Select(_ => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)))];
        foreach (var owner in options.Owners.Append(Admin))
        {
            _keys[owner] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        }
    }

    /// <summary>Six hex digits, in every name the lab gives (namespaces, cgroups, directories).</summary>
    public string Id { get; }

    /// <summary>Every directory of the lab's: servers' and agents' data roots, engines.</summary>
    public string Root { get; }

    /// <summary>One log per process (<c>s1.log</c>, <c>a1.log</c>, <c>a1-dockerd.log</c>); kept when a test fails.</summary>
    public string LogDirectory { get; }

    public IReadOnlyList<FleetServer> Servers => _servers;

    public IReadOnlyList<FleetAgent> Agents => _agents;

    /// <summary>The lab's PostgreSQL: <see cref="PostgresCluster.RestartImmediateAsync"/>, <see cref="PostgresCluster.StopAsync"/>, ...</summary>
    public PostgresCluster Postgres { get; private set; } = null!;

    /// <summary>The database the servers share (over the cluster's Unix socket).</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>The namespace of the API servers.</summary>
    public NetworkNamespace Hub { get; private set; } = null!;

    /// <summary>Root namespace (left) ↔ hub (right): how the test process reaches the servers.</summary>
    public VethLink RootLink { get; private set; } = null!;

    public LabSubnet Subnet { get; private set; } = null!;

    /// <summary>How long <see cref="StartAsync"/> took.</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>The API key of each owner (<see cref="FleetLabOptions.Owners"/> and <see cref="Admin"/>); the servers know only their SHA-256.</summary>
    public IReadOnlyDictionary<string, string> ApiKeys => _keys;

    private string HubName => $"{Prefix}{Id}-hub";

    private string RootLinkName => $"bfl{Id}";

    private string AgentName(int index) => $"{Prefix}{Id}-a{index}";

    /// <summary>
    /// Starts a lab, runs <paramref name="test"/> on it and disposes it. When the test or the clean-up fails, the logs are
    /// kept and the failure names their directory.
    /// </summary>
    public static async Task RunAsync(FleetLabOptions options, Func<FleetLab, Task> test)
    {
        var lab = await StartAsync(options);
        try
        {
            await test(lab);
        }
        catch (Exception e)
        {
            throw await lab.FailAsync("the test failed", e);
        }
        await lab.DisposeAsync();
    }

    /// <summary>
    /// Starts PostgreSQL, the namespaces and links, every agent's engine, the API servers (until ready), then the agents.
    /// Labs of test processes that died are removed first.
    /// </summary>
    public static async Task<FleetLab> StartAsync(FleetLabOptions? options = null)
    {
        options ??= new FleetLabOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Servers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Agents, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Agents, LabSubnet.MaxAgents);
        await HostFootprint.RemoveAbandonedAsync(Prefix);
        var clock = Stopwatch.StartNew();
        var lab = new FleetLab(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)), options);
        Directory.CreateDirectory(lab.Root);
        Directory.CreateDirectory(lab.LogDirectory);
        await lab._footprint.SaveAsync();
        try
        {
            await lab.StartPartsAsync();
        }
        catch (Exception e)
        {
            throw await lab.FailAsync("the lab did not start", e);
        }
        lab.StartupTime = clock.Elapsed;
        return lab;
    }

    /// <summary>A client of <paramref name="server"/> with <paramref name="owner"/>'s API key.</summary>
    public HttpClient Client(FleetServer server, string owner = Admin)
    {
        if (!_clients.TryGetValue((server.Index, owner), out var client))
        {
            client = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(60) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _keys[owner]);
            _clients[(server.Index, owner)] = client;
        }
        return client;
    }

    /// <summary>Berth's API on <paramref name="server"/> as <paramref name="owner"/>.</summary>
    public BerthApi Api(FleetServer server, string owner = Admin) => new(Client(server, owner));

    /// <summary>
    /// Waits until a container of job <paramref name="jobId"/> (Berth's label <c>berth.job</c>) exists on an agent's engine,
    /// and returns that agent: the one running the job.
    /// </summary>
    public async Task<FleetAgent> WaitForJobContainerAsync(string jobId, int seconds = 60)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (var agent in _agents.Where(a => a.Engine.IsRunning))
            {
                if ((await agent.Engine.Docker.JobContainersAsync(jobId)).Count > 0)
                {
                    return agent;
                }
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                throw new TimeoutException($"no agent's engine ran a container of job {jobId} within {seconds} s");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Cuts <paramref name="agent"/> off: the hub's end of its link goes down, its packets are dropped unanswered.</summary>
    public Task PartitionAsync(FleetAgent agent) => Own(agent).Link.SetDownAsync(LinkEnd.Left);

    /// <summary>
    /// Ends a <see cref="PartitionAsync"/>: returns once the link carries traffic again and both ends forgot the
    /// neighbour entries the partition failed. Connections that have not timed out meanwhile go on.
    /// </summary>
    public async Task HealAsync(FleetAgent agent)
    {
        await Own(agent).Link.SetUpAsync(LinkEnd.Left);
        await agent.Link.WaitCarrierAsync(TimeSpan.FromSeconds(10));
        await agent.Link.ForgetNeighboursAsync();
    }

    /// <summary>
    /// SIGKILL to the agent process and, unless <paramref name="engineToo"/> is false, to every process of its engine
    /// (dockerd, containerd, shims, containers): its machine lost power. Its disk stays as it was.
    /// </summary>
    public async Task KillAgentAsync(FleetAgent agent, bool engineToo = true)
    {
        if (Own(agent).Process is { } process)
        {
            await process.Kill9Async();
        }
        if (engineToo)
        {
            await agent.Engine.CrashAsync();
        }
    }

    /// <summary>Starts the agent again (its engine first, when that is down) and waits until it is ready.</summary>
    public async Task RestartAgentAsync(FleetAgent agent)
    {
        if (!Own(agent).Engine.IsRunning)
        {
            await agent.Engine.RestartAsync();
        }
        if (agent.Process is null)
        {
            await StartAgentAsync(agent);
            return;
        }
        await agent.Process.RestartAsync();
        await WaitReadyAsync(agent);
    }

    /// <summary>Starts an agent that was not started (<see cref="FleetLabOptions.StartAgents"/> false) and waits until it is ready.</summary>
    public async Task StartAgentAsync(FleetAgent agent)
    {
        if (agent.Process is not null)
        {
            throw new InvalidOperationException($"{agent} was started already; use RestartAgentAsync");
        }
        var command = (_options.AgentCommand ?? BerthAgentCommand)(this, agent);
        agent.Process = FleetProcess.Start(agent.Name, agent.Namespace, command, Path.Combine(LogDirectory, $"{agent.Name}.log"));
        await WaitReadyAsync(agent);
    }

    /// <summary>SIGKILL to an API server.</summary>
    public Task KillServerAsync(FleetServer server) => Own(server).Process.Kill9Async();

    /// <summary>Starts an API server again (SIGTERM first when it runs) and waits until it is ready.</summary>
    public async Task RestartServerAsync(FleetServer server)
    {
        await Own(server).Process.RestartAsync();
        await WaitReadyAsync(server);
    }

    /// <summary>Keeps <see cref="LogDirectory"/> when the lab is disposed (<see cref="RunAsync"/> does it when a test fails).</summary>
    public void KeepLogs() => _keepLogs = true;

    /// <summary>
    /// The API server's command line: <c>Berth.Server.dll</c> on all the hub's addresses, PostgreSQL store, no workers, no
    /// engine, the owners' API keys and the agents' tokens as SHA-256, then <see cref="FleetLabOptions.ServerSettings"/>
    /// (the last value of a key wins).
    /// </summary>
    public static FleetCommand BerthServerCommand(FleetLab lab, FleetServer server)
    {
        var arguments = new List<string>
        {
            "--urls", $"http://0.0.0.0:{server.Port}",
            $"--Berth:DataRoot={server.DataRoot}",
            "--Berth:Workers=0",
            // An API server runs no job: it gets no engine (and never the machine's main one). Settings may name one.
            $"--Berth:DockerEndpoint=unix://{Path.Combine(server.DataRoot, "no-engine.sock")}",
            "--Store:Provider=postgres",
            $"--Store:ConnectionString={lab.ConnectionString}",
        };
        var i = 0;
        foreach (var (owner, key) in lab._keys)
        {
            arguments.Add($"--Auth:Keys:{i}:Owner={owner}");
            arguments.Add($"--Auth:Keys:{i}:Role={(owner == Admin ? "admin" : "user")}");
            arguments.Add($"--Auth:Keys:{i}:Sha256={Sha256(key)}");
            i++;
        }
        for (var a = 0; a < lab._agentTokens.Length; a++)
        {
            arguments.Add($"--Agents:Tokens:{a}:Name=a{a + 1}");
            arguments.Add($"--Agents:Tokens:{a}:Sha256={Sha256(lab._agentTokens[a])}");
        }
        arguments.AddRange(lab._options.ServerSettings.Select(s => $"--{s.Key}={s.Value}"));
        return FleetCommand.Dotnet(RepoPaths.Built("Berth.Server"), arguments);
    }

    /// <summary>
    /// The agent's command line: <c>Berth.Server.dll agent</c> with every server (as the agent reaches it), its token,
    /// workers, engine, data root and name, then <see cref="FleetLabOptions.AgentArguments"/>.
    /// </summary>
    public static FleetCommand BerthAgentCommand(FleetLab lab, FleetAgent agent) =>
        FleetCommand.Dotnet(RepoPaths.Built("Berth.Server"), [
            "agent",
            .. lab._servers.SelectMany(s => (string[])["--server", s.UrlFor(agent).ToString()]),
            "--token", agent.Token,
            "--workers", lab._options.WorkersPerAgent.ToString(CultureInfo.InvariantCulture),
            "--engine", agent.Engine.Endpoint.ToString(),
            "--data-root", agent.DataRoot,
            "--name", agent.Name,
            .. lab._options.AgentArguments]);

    /// <summary>
    /// Stops every process (SIGTERM, then SIGKILL), removes every engine with its containers and mounts, PostgreSQL, the
    /// namespaces and veths, the cgroups and the directory; deletes the logs unless kept. Fails, keeping the logs, when
    /// anything of the lab's is left on the machine.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
        var problems = new List<string>();
        await Task.WhenAll(_agents.Select(a => a.Process?.StopAsync(TimeSpan.FromSeconds(10)) ?? Task.CompletedTask));
        await Task.WhenAll(_servers.Select(s => s.Process?.StopAsync(TimeSpan.FromSeconds(10)) ?? Task.CompletedTask));
        foreach (var result in await Task.WhenAll(_agents.Select(async a =>
                 {
                     try
                     {
                         await a.Engine.DisposeAsync();
                         return null;
                     }
                     catch (InvalidOperationException e)
                     {
                         return e.Message;
                     }
                 })))
        {
            if (result is not null)
            {
                problems.Add(result);
            }
        }
        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
            if (Directory.Exists(Postgres.Root))
            {
                problems.Add($"PostgreSQL's directory {Postgres.Root}");
            }
        }
        problems.AddRange(await _footprint.RemoveAsync());
        problems.AddRange(await _footprint.LeftoversAsync());
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(
                $"the lab {Id} was not removed cleanly: {string.Join("; ", problems.Distinct())}. Its logs are kept in {LogDirectory}: {LogList()}");
        }
        if (!_keepLogs && Directory.Exists(LogDirectory))
        {
            Directory.Delete(LogDirectory, recursive: true);
        }
    }

    /// <summary>Keeps the logs, disposes the lab, and returns the failure to throw: it names the logs (and a failed clean-up).</summary>
    private async Task<Exception> FailAsync(string what, Exception failure)
    {
        KeepLogs();
        var cleanup = "";
        try
        {
            await DisposeAsync();
        }
        catch (Exception disposal)
        {
            cleanup = $" The clean-up failed too: {disposal.Message}";
        }
        return new InvalidOperationException($"{what}; the lab's logs are kept in {LogDirectory}: {LogList()}.{cleanup}", failure);
    }

    private async Task StartPartsAsync()
    {
        var postgres = StartPostgresAsync();
        List<Task<FleetAgent>> preparing = [];
        try
        {
            using (await LabSubnet.LockAsync())
            {
                Subnet = await LabSubnet.PickAsync();
                Hub = await NetworkNamespace.CreateAsync(HubName);
                RootLink = await VethLink.CreateAsync(null, RootLinkName, Hub, "root", Subnet.Link(0));
            }
            // The agents' engines start while PostgreSQL and the servers do (the servers know the agents' tokens already).
            preparing = [.. Enumerable.Range(1, _options.Agents).Select(PrepareAgentAsync)];
            await postgres;
            for (var i = 1; i <= _options.Servers; i++)
            {
                _servers.Add(new FleetServer(i, FirstPort + i - 1, Directory.CreateDirectory(Path.Combine(Root, $"s{i}")).FullName, RootLink.RightAddress));
            }
            foreach (var server in _servers)
            {
                server.Process = FleetProcess.Start(server.Name, Hub, (_options.ServerCommand ?? BerthServerCommand)(this, server),
                    Path.Combine(LogDirectory, $"{server.Name}.log"));
            }
            await Task.WhenAll(_servers.Select(WaitReadyAsync));
        }
        finally
        {
            // Wait for everything either way, so that disposing finds it; an engine of an agent that failed to start is
            // found by the lab's footprint.
            await ((Task)postgres).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await ((Task)Task.WhenAll(preparing)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _agents.AddRange(preparing.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        }
        await Task.WhenAll(preparing);
        if (_options.StartAgents)
        {
            await Task.WhenAll(_agents.Select(StartAgentAsync));
        }
    }

    private async Task StartPostgresAsync()
    {
        Postgres = await PostgresCluster.StartAsync();
        ConnectionString = await Postgres.CreateDatabaseAsync();
    }

    private async Task<FleetAgent> PrepareAgentAsync(int index)
    {
        var ns = await NetworkNamespace.CreateAsync(AgentName(index));
        var link = await VethLink.CreateAsync(Hub, $"a{index}", ns, "hub", Subnet.Link(index));
        var engine = await OwnEngine.StartAsync(ns, Path.Combine(Root, $"e{index}"), AgentName(index),
            Path.Combine(LogDirectory, $"a{index}-dockerd.log"), _options.Images);
        var dataRoot = Directory.CreateDirectory(Path.Combine(Root, $"a{index}")).FullName;
        return new FleetAgent(index, ns, link, engine, dataRoot, _agentTokens[index - 1]);
    }

    private async Task WaitReadyAsync(FleetServer server)
    {
        using var probe = new HttpClient { BaseAddress = server.Url };
        await server.Process.WaitUntilAsync(async token =>
        {
            using var response = await probe.GetAsync(new Uri(_options.ServerReadiness, UriKind.Relative), token);
            return response.StatusCode == HttpStatusCode.OK;
        }, ServerStartTimeout);
    }

    private async Task WaitReadyAsync(FleetAgent agent)
    {
        var process = agent.Process!;
        if (_options.AgentReady is { } ready)
        {
            await process.WaitUntilAsync(token => ready(agent, token), ServerStartTimeout);
            return;
        }
        await Task.Delay(TimeSpan.FromSeconds(1));
        await process.WaitUntilAsync(_ => Task.FromResult(true), TimeSpan.Zero);
    }

    private FleetAgent Own(FleetAgent agent) =>
        _agents.Contains(agent) ? agent : throw new ArgumentException($"{agent} is not an agent of lab {Id}", nameof(agent));

    private FleetServer Own(FleetServer server) =>
        _servers.Contains(server) ? server : throw new ArgumentException($"{server} is not a server of lab {Id}", nameof(server));

    private string LogList() =>
        Directory.Exists(LogDirectory) ? string.Join(", ", Directory.EnumerateFiles(LogDirectory).Select(Path.GetFileName).Order()) : "(none)";

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
