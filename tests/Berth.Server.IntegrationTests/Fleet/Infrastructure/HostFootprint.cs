using System.Text.Json;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>
/// Everything a lab or an engine made on the host, by name: its directory, its network namespaces (with their veths), the
/// veth ends it put in the root namespace, and the cgroups its engines ran containers in. From this alone it can all be
/// found and removed, even when the test process that made it died (the footprint is saved in its directory).
/// </summary>
/// <param name="Root">The directory everything on disk lives in (data roots, engines' data and exec roots, sockets).</param>
/// <param name="Owner">The pid of the test process that made it: when that process is gone, anyone may remove it.</param>
/// <param name="Marker">
/// Text on the command line of each of its processes: by default its directory (<see cref="Root"/> and a slash). An
/// engine's is its exec root, named by its dockerd, containerd, shims and runsc, but not by a client of its socket.
/// </param>
public sealed record HostFootprint(
    string Root, int Owner, IReadOnlyList<string> Namespaces, IReadOnlyList<string> RootLinks, IReadOnlyList<string> Cgroups, string? Marker = null)
{
    public const string FileName = "footprint.json";

    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Saves this footprint in <see cref="Root"/>, where <see cref="RemoveAbandonedAsync"/> looks for it.</summary>
    public Task SaveAsync() => File.WriteAllTextAsync(Path.Combine(Root, FileName), JsonSerializer.Serialize(this));

    /// <summary>
    /// Every process that belongs to it: in one of its namespaces, carrying its <see cref="Marker"/> (containerd, shims,
    /// runsc), in one of its cgroups (containers), and their descendants (build steps under a cgroup of their own).
    /// </summary>
    public async Task<IReadOnlyList<int>> ProcessesAsync()
    {
        var pids = new List<int>(HostProcesses.Naming(Marker ?? Root.TrimEnd('/') + "/"));
        foreach (var name in Namespaces.Where(NetworkNamespace.Exists))
        {
            pids.AddRange(await NetworkNamespace.ProcessIdsAsync(name));
        }
        foreach (var cgroup in Cgroups)
        {
            pids.AddRange(HostProcesses.InCgroup(cgroup));
        }
        return HostProcesses.WithDescendants(pids);
    }

    /// <summary>
    /// Kills its processes, unmounts what is mounted under its directory, deletes its namespaces, root veths, cgroups and
    /// directory. Returns what could not be removed (nothing when all went well).
    /// </summary>
    public async Task<IReadOnlyList<string>> RemoveAsync()
    {
        var problems = new List<string>();
        var survivors = await HostProcesses.KillAllAsync(ProcessesAsync, KillTimeout);
        if (survivors.Count > 0)
        {
            problems.Add($"processes {string.Join(", ", survivors)} survived SIGKILL");
        }
        foreach (var mount in MountsUnder(Root))
        {
            var (code, _, error) = await Shell.TryRunAsync("umount", "-l", mount);
            if (code != 0)
            {
                problems.Add($"umount {mount}: {error.Trim()}");
            }
        }
        foreach (var name in Namespaces.Where(NetworkNamespace.Exists))
        {
            var (code, _, error) = await Shell.TryRunAsync("ip", "netns", "delete", name);
            if (code != 0)
            {
                problems.Add($"ip netns delete {name}: {error.Trim()}");
            }
        }
        foreach (var link in RootLinks.Where(VethLink.ExistsInRoot))
        {
            var (code, _, error) = await Shell.TryRunAsync("ip", "link", "delete", link);
            if (code != 0 && VethLink.ExistsInRoot(link))
            {
                problems.Add($"ip link delete {link}: {error.Trim()}");
            }
        }
        foreach (var dir in Cgroups.SelectMany(HostProcesses.CgroupDirectories)
                     .SelectMany(d => Directory.EnumerateDirectories(d, "*", SearchOption.AllDirectories).Append(d))
                     .OrderByDescending(d => d.Length)
                     .ToList())
        {
            try
            {
                Directory.Delete(dir); // a cgroup's directory is removed with rmdir, files and all
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"rmdir {dir}: {e.Message}");
            }
        }
        try
        {
            if (Directory.Exists(Root))
            {
                Directory.Delete(Root, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"deleting {Root}: {e.Message}");
        }
        return problems;
    }

    /// <summary>What of it is still on the host: processes, mounts, namespaces, root veths, cgroups, the directory.</summary>
    public async Task<IReadOnlyList<string>> LeftoversAsync()
    {
        var left = new List<string>();
        var processes = await ProcessesAsync();
        if (processes.Count > 0)
        {
            left.Add($"processes {string.Join(", ", processes)}");
        }
        left.AddRange(MountsUnder(Root).Select(m => $"mount {m}"));
        left.AddRange(Namespaces.Where(NetworkNamespace.Exists).Select(n => $"network namespace {n}"));
        left.AddRange(RootLinks.Where(VethLink.ExistsInRoot).Select(l => $"link {l}"));
        left.AddRange(Cgroups.SelectMany(HostProcesses.CgroupDirectories).Select(d => $"cgroup {d}"));
        if (Directory.Exists(Root))
        {
            left.Add($"directory {Root}");
        }
        return left;
    }

    /// <summary>
    /// Removes what test processes that are gone left under <c>/tmp/<paramref name="prefix"/>*</c>: a lab that was never
    /// disposed because its test process was killed. Footprints of live processes are not touched.
    /// </summary>
    public static async Task RemoveAbandonedAsync(string prefix)
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), prefix + "*"))
        {
            var file = Path.Combine(dir, FileName);
            HostFootprint? footprint;
            try
            {
                footprint = JsonSerializer.Deserialize<HostFootprint>(await File.ReadAllTextAsync(file));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                continue; // not a footprint: not ours to judge
            }
            if (footprint is not null && footprint.Root == dir && !HostProcesses.IsLive(footprint.Owner))
            {
                await footprint.RemoveAsync();
            }
        }
    }

    /// <summary>Mount points at or below <paramref name="path"/> in this mount namespace, deepest first.</summary>
    public static IReadOnlyList<string> MountsUnder(string path) =>
        File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4])
            .Where(m => m == path || m.StartsWith(path.TrimEnd('/') + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length)
            .ToList();
}
