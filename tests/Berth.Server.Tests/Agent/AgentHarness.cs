using Berth.Server.Agent;
using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Berth.Server.Scanning;
using Berth.Server.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Agent;

/// <summary>
/// <c>berth agent</c> as <see cref="AgentProgram.Configure"/> wires it, in this process, with real time and real HTTP to
/// the given servers, and the dangerous parts swapped: <see cref="FakeEngine"/>, <see cref="FakeDataVolumes"/>, build cgroups
/// under a path that cannot hold them, and no advisory database install (scans are off).
/// </summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    public const string Name = "agent-under-test";

    private readonly IHost _host;
    private readonly bool _ownsRoot;
    private bool _stopped;

    private AgentHarness(IHost host, string root, bool ownsRoot, FakeEngine engine, FakeDataVolumes volumes, ListLogger log)
    {
        _host = host;
        Log = log;
        Root = root;
        _ownsRoot = ownsRoot;
        Engine = engine;
        Volumes = volumes;
    }

    public string Root { get; }

    public FakeEngine Engine { get; }

    public FakeDataVolumes Volumes { get; }

    public ListLogger Log { get; }

    public EngineNames Names => _host.Services.GetRequiredService<EngineNames>();

    /// <summary>Starts an agent (its workers claim at once) on <paramref name="root"/> (a fresh one when null, deleted on dispose).</summary>
    public static async Task<AgentHarness> StartAsync(IReadOnlyList<Uri> servers, FakeEngine? engine = null, string? root = null,
        IReadOnlyDictionary<string, string?>? configuration = null, FakeDataVolumes? volumes = null)
    {
        engine ??= NewEngine();
        volumes ??= new FakeDataVolumes();
        var ownsRoot = root is null;
        root ??= Directory.CreateTempSubdirectory("berth-agent-").FullName;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scan:Enabled"] = "false",
            ["Berth:LogCapKb"] = "4096",
            ["Berth:DataPoolSize"] = "0",
        });
        builder.Configuration.AddInMemoryCollection(configuration ?? new Dictionary<string, string?>());
        var settings = new AgentSettings(servers, FakeFleetServer.AgentToken, 1, "unix:///nonexistent/docker.sock", root, Name);
        AgentProgram.Configure(builder, settings);
        builder.Services.AddSingleton<IContainerEngine>(engine);
        builder.Services.AddSingleton<IDataVolumes>(volumes);
        builder.Services.AddSingleton(sp => new BuildCgroups(sp.GetRequiredService<IOptions<BuildOptions>>(), sp.GetRequiredService<EngineNames>())
        {
            Root = "/dev/null/cgroup", // nothing can be made there: builds go on without their pids limit
        });
        builder.Services.Remove(builder.Services.Single(s => s.ImplementationType == typeof(ScanDatabaseSetup)));
        var log = new ListLogger();
        builder.Logging.AddProvider(log);
        var host = builder.Build();
        await host.StartAsync();
        return new AgentHarness(host, root, ownsRoot, engine, volumes, log);
    }

    /// <summary>An engine with busybox:latest loaded.</summary>
    public static FakeEngine NewEngine()
    {
        var engine = new FakeEngine();
        engine.AddImage("busybox:latest");
        return engine;
    }

    public JobPaths PathsOf(string jobId) => JobPaths.For(Path.Combine(Root, "jobs"), jobId);

    public bool HoldsContainerOf(string jobId) => Engine.Containers.Any(c => EngineNames.JobOfLabels(c.View().Labels) == jobId);

    /// <summary>SIGTERM: the host stops (jobs in progress are given back and cleaned up).</summary>
    public async Task StopAsync()
    {
        _stopped = true;
        await _host.StopAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            await StopAsync();
        }
        _host.Dispose();
        if (_ownsRoot)
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}
