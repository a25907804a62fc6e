using System.Globalization;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>Finds and kills host processes by what they belong to: a path on their command line, a cgroup, a parent.</summary>
public static class HostProcesses
{
    /// <summary>Live processes (not this one, not zombies) whose command line contains <paramref name="text"/>.</summary>
    public static IReadOnlyList<int> Naming(string text) =>
        All().Where(p => p.CommandLine.Contains(text, StringComparison.Ordinal)).Select(p => p.Id).ToList();

    /// <summary>
    /// Live processes in the cgroup <c>/<paramref name="parent"/></c> or below it, in any hierarchy (cgroup v1 controllers,
    /// the v1 <c>unified</c> mount, or a pure v2 mount): what a dockerd started with <c>cgroup-parent</c> runs in containers.
    /// </summary>
    public static IReadOnlyList<int> InCgroup(string parent) =>
        CgroupDirectories(parent)
            .SelectMany(dir => Directory.EnumerateFiles(dir, "cgroup.procs", SearchOption.AllDirectories))
            .SelectMany(ReadPids)
            .Where(IsLive)
            .Distinct()
            .ToList();

    /// <summary>The directories of the cgroup <c>/<paramref name="parent"/></c> in every mounted hierarchy.</summary>
    public static IReadOnlyList<string> CgroupDirectories(string parent)
    {
        const string root = "/sys/fs/cgroup";
        if (!Directory.Exists(root))
        {
            return [];
        }
        return Directory.EnumerateDirectories(root).Select(h => Path.Combine(h, parent))
            .Append(Path.Combine(root, parent))
            .Where(d => Directory.Exists(d) && File.Exists(Path.Combine(d, "cgroup.procs")))
            .Distinct()
            .ToList();
    }

    /// <summary><paramref name="pids"/> and every live process below them.</summary>
    public static IReadOnlyList<int> WithDescendants(IEnumerable<int> pids)
    {
        var found = pids.ToHashSet();
        var children = All().GroupBy(p => p.ParentId).ToDictionary(g => g.Key, g => g.Select(p => p.Id).ToList());
        var queue = new Queue<int>(found);
        while (queue.TryDequeue(out var pid))
        {
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                if (found.Add(child))
                {
                    queue.Enqueue(child);
                }
            }
        }
        return found.Where(IsLive).ToList();
    }

    /// <summary>
    /// SIGKILL to every process <paramref name="find"/> returns, again and again (a dying parent may have forked), until it
    /// returns none or <paramref name="timeout"/> passes. Returns the processes still alive at the end.
    /// </summary>
    public static async Task<IReadOnlyList<int>> KillAllAsync(Func<Task<IReadOnlyList<int>>> find, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var pids = (await find()).Where(p => p != Environment.ProcessId).ToList();
            if (pids.Count == 0 || clock.Elapsed > timeout)
            {
                return pids;
            }
            // Stop them all first, so that none forks or restarts another while the others die.
            await Shell.TryRunAsync("kill", ["-STOP", .. pids.Select(Text)]);
            await Shell.TryRunAsync("kill", ["-KILL", .. pids.Select(Text)]);
            await Task.Delay(100);
        }
    }

    /// <summary>Whether <paramref name="pid"/> is a live process (not gone, not a zombie waiting for its parent).</summary>
    public static bool IsLive(int pid) => Stat(pid) is { State: not ('Z' or 'X') };

    private static string Text(int pid) => pid.ToString(CultureInfo.InvariantCulture);

    private sealed record ProcessEntry(int Id, int ParentId, string CommandLine);

    private static List<ProcessEntry> All()
    {
        var entries = new List<ProcessEntry>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            if (Stat(pid) is not { State: not ('Z' or 'X') } stat)
            {
                continue;
            }
            try
            {
                entries.Add(new ProcessEntry(pid, stat.ParentId, File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ')));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // exited meanwhile
            }
        }
        return entries;
    }

    /// <summary>State and parent from <c>/proc/PID/stat</c> (after the command name, which may hold spaces and parentheses).</summary>
    private static (char State, int ParentId)? Stat(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{Text(pid)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture));
    }

    private static IEnumerable<int> ReadPids(string file)
    {
        try
        {
            return File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return []; // the cgroup went away meanwhile
        }
    }
}
