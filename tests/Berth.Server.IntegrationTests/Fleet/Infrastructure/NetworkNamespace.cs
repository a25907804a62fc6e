using System.Globalization;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>
/// A named network namespace of the test's own (<c>ip netns add</c>, <c>lo</c> up). Processes are started in it with
/// <c>nsenter --net=/run/netns/NAME</c>, never <c>ip netns exec</c>: that one also remounts <c>/sys</c>, and a dockerd
/// started so finds no devices cgroup. Only the network is separate: the file system (Unix sockets included) is shared.
/// Disposing kills what still runs in it and deletes it, with the veth ends in it.
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private NetworkNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>The namespace's file, what <c>nsenter --net=</c> takes.</summary>
    public string Path => PathOf(Name);

    public static string PathOf(string name) => $"/run/netns/{name}";

    public static bool Exists(string name) => File.Exists(PathOf(name));

    /// <summary>Creates the namespace <paramref name="name"/> (at most 15 characters are shown by tools; any length works).</summary>
    public static async Task<NetworkNamespace> CreateAsync(string name)
    {
        await Shell.RunAsync("ip", "netns", "add", name);
        var created = new NetworkNamespace(name);
        try
        {
            await created.IpAsync("link", "set", "lo", "up");
            return created;
        }
        catch
        {
            await created.DisposeAsync();
            throw;
        }
    }

    /// <summary><paramref name="file"/> and its arguments, prefixed so that they run in this namespace.</summary>
    public IReadOnlyList<string> Enter(string file, IEnumerable<string> arguments) =>
        ["nsenter", $"--net={Path}", "--", file, .. arguments];

    /// <summary>Runs a command in this namespace to completion (curl, ip, ...).</summary>
    public Task<(int ExitCode, string Output, string Error)> RunAsync(string file, params string[] arguments) =>
        Shell.TryRunAsync("nsenter", [.. Enter(file, arguments)]);

    /// <summary><c>ip -n NAME ...</c>: configures this namespace's links and addresses.</summary>
    public Task<string> IpAsync(params string[] arguments) => Shell.RunAsync("ip", ["-n", Name, .. arguments]);

    /// <summary>The processes whose network namespace this is (<c>ip netns pids</c>).</summary>
    public Task<IReadOnlyList<int>> ProcessIdsAsync() => ProcessIdsAsync(Name);

    public static async Task<IReadOnlyList<int>> ProcessIdsAsync(string name)
    {
        var (code, output, _) = await Shell.TryRunAsync("ip", "netns", "pids", name);
        return code != 0
            ? []
            : output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => int.Parse(p, CultureInfo.InvariantCulture))
                .Where(p => p != Environment.ProcessId)
                .ToList();
    }

    /// <summary>Kills every process still in the namespace, then deletes it (its veth ends, and their peers, go with it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!Exists(Name))
        {
            return;
        }
        var survivors = await HostProcesses.KillAllAsync(async () => HostProcesses.WithDescendants(await ProcessIdsAsync()), TimeSpan.FromSeconds(20));
        if (survivors.Count > 0)
        {
            throw new InvalidOperationException($"processes {string.Join(", ", survivors)} in network namespace {Name} survived SIGKILL");
        }
        await Shell.RunAsync("ip", "netns", "delete", Name);
    }

    public override string ToString() => Name;
}
