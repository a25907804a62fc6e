using System.Net;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>An API server of a <see cref="FleetLab"/>: a process in the hub namespace listening on all its addresses.</summary>
public sealed class FleetServer
{
    internal FleetServer(int index, int port, string dataRoot, IPAddress rootSideAddress)
    {
        Index = index;
        Port = port;
        DataRoot = dataRoot;
        Url = new Uri($"http://{rootSideAddress}:{port}");
    }

    /// <summary>1, 2, ...</summary>
    public int Index { get; }

    /// <summary><c>s1</c>, <c>s2</c>, ...</summary>
    public string Name => $"s{Index}";

    public int Port { get; }

    /// <summary>Its <c>Berth:DataRoot</c>, under the lab's directory.</summary>
    public string DataRoot { get; }

    /// <summary>Its address as the test process (root namespace) reaches it.</summary>
    public Uri Url { get; }

    /// <summary>Its address as <paramref name="agent"/> reaches it: the hub's end of the agent's own link.</summary>
    public Uri UrlFor(FleetAgent agent) => new($"http://{agent.Link.LeftAddress}:{Port}");

    /// <summary>The running process (set when the lab starts it).</summary>
    public FleetProcess Process { get; internal set; } = null!;

    public override string ToString() => Name;
}
