using System.Net;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>Which end of a <see cref="VethLink"/>.</summary>
public enum LinkEnd
{
    Left,
    Right,
}

/// <summary>
/// A veth pair between two namespaces (the left one may be the root namespace: null), one address of a /30 at each end.
/// Nothing routes beyond the pair: each end reaches only the other. Deleting either namespace deletes the pair.
/// </summary>
/// <remarks>
/// <see cref="SetDownAsync"/> of one end is a partition: the other end loses its carrier, and what it sends is dropped
/// without an answer (its requests time out); the end that was set down refuses to send at once (network unreachable).
/// </remarks>
public sealed class VethLink
{
    private VethLink(NetworkNamespace? left, string leftName, IPAddress leftAddress, NetworkNamespace right, string rightName, IPAddress rightAddress)
    {
        Left = left;
        LeftName = leftName;
        LeftAddress = leftAddress;
        Right = right;
        RightName = rightName;
        RightAddress = rightAddress;
    }

    /// <summary>Null: the root namespace, where the test process runs.</summary>
    public NetworkNamespace? Left { get; }

    public string LeftName { get; }

    public IPAddress LeftAddress { get; }

    public NetworkNamespace Right { get; }

    public string RightName { get; }

    public IPAddress RightAddress { get; }

    /// <summary>
    /// Creates the pair directly in its two namespaces (never in the root one unless <paramref name="left"/> is null), gives
    /// each end its address in <paramref name="subnet"/> (a /30: .1 left, .2 right) and brings both up.
    /// </summary>
    /// <param name="leftName">Unique in the left namespace (in the root one: unique on the machine, at most 15 characters).</param>
    public static async Task<VethLink> CreateAsync(NetworkNamespace? left, string leftName, NetworkNamespace right, string rightName, IPAddress subnet)
    {
        var bytes = subnet.GetAddressBytes();
        if (bytes.Length != 4 || (bytes[3] & 3) != 0)
        {
            throw new ArgumentException($"{subnet} does not start an IPv4 /30", nameof(subnet));
        }
        var leftAddress = new IPAddress([bytes[0], bytes[1], bytes[2], (byte)(bytes[3] + 1)]);
        var rightAddress = new IPAddress([bytes[0], bytes[1], bytes[2], (byte)(bytes[3] + 2)]);
        await Shell.RunAsync("ip", [
            "link", "add", leftName, .. left is null ? Array.Empty<string>() : ["netns", left.Name],
            "type", "veth", "peer", "name", rightName, "netns", right.Name]);
        var link = new VethLink(left, leftName, leftAddress, right, rightName, rightAddress);
        await link.IpAsync(LinkEnd.Left, "addr", "add", $"{leftAddress}/30", "dev", leftName);
        await link.IpAsync(LinkEnd.Right, "addr", "add", $"{rightAddress}/30", "dev", rightName);
        await link.SetUpAsync(LinkEnd.Left);
        await link.SetUpAsync(LinkEnd.Right);
        await link.WaitCarrierAsync(TimeSpan.FromSeconds(10));
        return link;
    }

    /// <summary>Whether the root namespace has a link named <paramref name="name"/>.</summary>
    public static bool ExistsInRoot(string name) => Directory.Exists($"/sys/class/net/{name}");

    public Task SetDownAsync(LinkEnd end) => IpAsync(end, "link", "set", NameOf(end), "down");

    public Task SetUpAsync(LinkEnd end) => IpAsync(end, "link", "set", NameOf(end), "up");

    /// <summary>Whether the end is administratively up (<c>ip link</c> shows <c>UP</c> among its flags).</summary>
    public async Task<bool> IsUpAsync(LinkEnd end) => (await FlagsAsync(end)).Contains("UP");

    /// <summary>
    /// Waits until both ends carry traffic (<c>LOWER_UP</c>): a veth set up again takes a moment before it does, and
    /// what is sent meanwhile is lost.
    /// </summary>
    public async Task WaitCarrierAsync(TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!(await FlagsAsync(LinkEnd.Left)).Contains("LOWER_UP") || !(await FlagsAsync(LinkEnd.Right)).Contains("LOWER_UP"))
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{LeftName} ↔ {RightName} has no carrier after {timeout.TotalSeconds} s (is an end down?)");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Forgets what each end learned of the other's hardware address. After a partition the agent's entry may be FAILED
    /// (its ARP probes went unanswered): until it expires, a connect fails at once with "no route to host". A real link
    /// coming back behaves so too; a healed lab link should not.
    /// </summary>
    public async Task ForgetNeighboursAsync()
    {
        await IpAsync(LinkEnd.Left, "neigh", "flush", "dev", LeftName);
        await IpAsync(LinkEnd.Right, "neigh", "flush", "dev", RightName);
    }

    private async Task<string[]> FlagsAsync(LinkEnd end)
    {
        var line = await IpAsync(end, "-o", "link", "show", "dev", NameOf(end));
        return line[(line.IndexOf('<', StringComparison.Ordinal) + 1)..line.IndexOf('>', StringComparison.Ordinal)].Split(',');
    }

    private string NameOf(LinkEnd end) => end == LinkEnd.Left ? LeftName : RightName;

    private Task<string> IpAsync(LinkEnd end, params string[] arguments) =>
        (end == LinkEnd.Left ? Left : Right) is { } ns ? ns.IpAsync(arguments) : Shell.RunAsync("ip", arguments);
}
