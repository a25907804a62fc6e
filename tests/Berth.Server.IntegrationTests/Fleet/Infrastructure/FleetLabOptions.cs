namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>What a <see cref="FleetLab"/> starts. The defaults: two API servers, three agents with two workers each.</summary>
public sealed record FleetLabOptions
{
    /// <summary>API servers, all in the hub namespace, on ports 8081, 8082, ...</summary>
    public int Servers { get; init; } = 2;

    /// <summary>Agents, each in a namespace of its own with a dockerd of its own (at most <see cref="LabSubnet.MaxAgents"/>).</summary>
    public int Agents { get; init; } = 3;

    /// <summary>Each agent's <c>--workers</c>.</summary>
    public int WorkersPerAgent { get; init; } = 2;

    /// <summary>Owners that get an API key of role <c>user</c>; an <see cref="FleetLab.Admin"/> key is always added.</summary>
    public IReadOnlyList<string> Owners { get; init; } = ["alice", "bob"];

    /// <summary>Images every agent's engine gets (busybox is built from busybox-static; others are copied from the main engine).</summary>
    public IReadOnlyList<string> Images { get; init; } = ["busybox:latest"];

    /// <summary>More <c>--Key=Value</c> settings for every API server (<c>Fleet:LeaseSeconds</c>, <c>Auth:SubmitsPerMinute</c>, ...).</summary>
    public IReadOnlyDictionary<string, string> ServerSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>More arguments for every agent, after the ones the lab gives.</summary>
    public IReadOnlyList<string> AgentArguments { get; init; } = [];

    /// <summary>The path that answers 200 when an API server is ready; polled from the test process.</summary>
    public string ServerReadiness { get; init; } = "/readyz";

    /// <summary>When false, agents are prepared (namespace, engine, token) but not started: <see cref="FleetLab.StartAgentAsync"/>.</summary>
    public bool StartAgents { get; init; } = true;

    /// <summary>
    /// Whether an agent is ready (its engine answers, it reached a server, ...). Null: ready when it still runs one second
    /// after it started (a bad command line has failed by then).
    /// </summary>
    public Func<FleetAgent, CancellationToken, Task<bool>>? AgentReady { get; init; }

    /// <summary>The command line of an API server; null: <see cref="FleetLab.BerthServerCommand"/>. Tests of the lab itself give stand-ins.</summary>
    public Func<FleetLab, FleetServer, FleetCommand>? ServerCommand { get; init; }

    /// <summary>The command line of an agent; null: <see cref="FleetLab.BerthAgentCommand"/>.</summary>
    public Func<FleetLab, FleetAgent, FleetCommand>? AgentCommand { get; init; }
}
