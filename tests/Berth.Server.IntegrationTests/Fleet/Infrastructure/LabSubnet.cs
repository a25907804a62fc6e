using System.Globalization;
using System.Net;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>
/// A private /24 for one lab, <c>10.213.N.0/24</c>, that no address or route of the machine overlaps (the default route
/// aside: nothing in a lab routes beyond its own links). Cut into /30s: the first joins the root namespace to the hub,
/// the k-th (k ≥ 1) joins the hub to agent k. Only the first is seen in the root namespace.
/// </summary>
public sealed record LabSubnet(IPAddress Network)
{
    public const int MaxAgents = 63;

    private const byte First = 10;
    private const byte Second = 213;

    /// <summary>The /30 of link <paramref name="index"/> (0: root ↔ hub; k: hub ↔ agent k).</summary>
    public IPAddress Link(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, MaxAgents);
        var bytes = Network.GetAddressBytes();
        return new IPAddress([bytes[0], bytes[1], bytes[2], (byte)(index * 4)]);
    }

    /// <summary>
    /// Picks a /24 that overlaps none of the machine's addresses and routes (another lab's shows by its root link's
    /// address). Call it holding <see cref="LockAsync"/> until this lab's root link has its address.
    /// </summary>
    public static async Task<LabSubnet> PickAsync()
    {
        var used = await UsedNetworksAsync();
        var start = Random.Shared.Next(256);
        for (var i = 0; i < 256; i++)
        {
            var third = (start + i) % 256;
            var candidate = (First << 24) | (Second << 16) | (third << 8);
            if (!used.Any(u => Overlaps(u.Network, u.Prefix, candidate, 24)))
            {
                return new LabSubnet(new IPAddress([First, Second, (byte)third, 0]));
            }
        }
        throw new InvalidOperationException($"every /24 in {First}.{Second}.0.0/16 overlaps an address or route of this machine");
    }

    /// <summary>
    /// A lock across test processes (an exclusive lock file) held from picking a subnet until the root link has its address,
    /// so that two labs starting at once do not pick the same one.
    /// </summary>
    public static async Task<IDisposable> LockAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), "berth-fl.lock");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>IPv4 networks of the root namespace's addresses and routes (every table), the default route excepted.</summary>
    private static async Task<List<(int Network, int Prefix)>> UsedNetworksAsync()
    {
        var found = new List<(int, int)>();
        foreach (var line in (await Shell.RunAsync("ip", "-o", "-4", "addr", "show")).Split('\n'))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var inet = Array.IndexOf(words, "inet");
            if (inet >= 0 && inet + 1 < words.Length && TryParse(words[inet + 1], out var net))
            {
                found.Add(net);
            }
        }
        string[] types = ["unicast", "local", "broadcast", "multicast", "throw", "unreachable", "prohibit", "blackhole", "nat", "anycast"];
        foreach (var line in (await Shell.RunAsync("ip", "-4", "route", "show", "table", "all")).Split('\n'))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var target = words.Length > 1 && types.Contains(words[0]) ? words[1] : words.FirstOrDefault();
            if (target is not null and not "default" && TryParse(target, out var net))
            {
                found.Add(net);
            }
        }
        return found;
    }

    private static bool TryParse(string text, out (int Network, int Prefix) network)
    {
        network = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var prefix = 32;
        if (slash >= 0 && !int.TryParse(text[(slash + 1)..], CultureInfo.InvariantCulture, out prefix))
        {
            return false;
        }
        if (!IPAddress.TryParse(slash >= 0 ? text[..slash] : text, out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return false;
        }
        var b = address.GetAddressBytes();
        network = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3], prefix);
        return true;
    }

    private static bool Overlaps(int a, int aPrefix, int b, int bPrefix)
    {
        var prefix = Math.Min(aPrefix, bPrefix);
        var mask = prefix == 0 ? 0 : -1 << (32 - prefix);
        return (a & mask) == (b & mask);
    }
}
