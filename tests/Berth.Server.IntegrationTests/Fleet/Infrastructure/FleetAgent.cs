using Berth.Server.IntegrationTests.Infrastructure;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>
/// An agent of a <see cref="FleetLab"/>: a namespace of its own joined to the hub by one veth pair, a dockerd of its own
/// in that namespace, a data root, a token, and (once started) the agent process, also in that namespace.
/// </summary>
public sealed class FleetAgent
{
    internal FleetAgent(int index, NetworkNamespace ns, VethLink link, OwnEngine engine, string dataRoot, string token)
    {
        Index = index;
        Namespace = ns;
        Link = link;
        Engine = engine;
        DataRoot = dataRoot;
        Token = token;
    }

    /// <summary>1, 2, ...</summary>
    public int Index { get; }

    /// <summary><c>a1</c>, <c>a2</c>, ...: its <c>--name</c> and the name of its token in <c>Agents:Tokens</c>.</summary>
    public string Name => $"a{Index}";

    public NetworkNamespace Namespace { get; }

    /// <summary>The hub (left) ↔ agent (right) link; the lab's partitions set its hub end down.</summary>
    public VethLink Link { get; }

    /// <summary>Its own dockerd (<c>--engine</c>).</summary>
    public OwnEngine Engine { get; }

    /// <summary>Its <c>--data-root</c>, under the lab's directory.</summary>
    public string DataRoot { get; }

    /// <summary>Its <c>--token</c>; the servers are configured with its SHA-256 only.</summary>
    public string Token { get; }

    /// <summary>The agent process; null until it is started.</summary>
    public FleetProcess? Process { get; internal set; }

    /// <summary>
    /// What a job of this agent's left behind: job containers and job images on its engine, mounts under its data root.
    /// Empty after a clean finish, and after the agent started again from a crash and cleaned up.
    /// </summary>
    public async Task<IReadOnlyList<string>> LeftoversAsync()
    {
        var left = new List<string>();
        left.AddRange((await Engine.Docker.AllJobContainersAsync()).Select(c => $"container {c.ID[..12]} ({c.State}) of job {c.Labels["berth.job"]}"));
        left.AddRange((await Engine.Docker.AllJobImagesAsync()).Select(i => $"image {i}"));
        left.AddRange(HostFootprint.MountsUnder(DataRoot).Select(m => $"mount {m}"));
        return left;
    }

    public override string ToString() => Name;
}
