using Berth.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Server.Docker;

/// <summary>
/// A pids-limited cgroup per build (<c>/berth-&lt;instance&gt;-build/&lt;job id&gt;</c>), given to the engine as
/// the build's <c>cgroupparent</c>: every RUN step's processes count against <c>Build:PidsLimit</c>, so a fork
/// bomb in a build cannot exhaust the host. cgroup v1 (pids controller) and v2 (unified) with the
/// cgroupfs driver; anywhere else the limit is not applied and the build says so in its log.
/// </summary>
public sealed class BuildCgroups(IOptions<BuildOptions> build, EngineNames names)
{
    /// <summary>Where the cgroup file systems are mounted; tests point it elsewhere so that they never touch the host's.</summary>
    internal string Root { get; init; } = "/sys/fs/cgroup";

    private string Parent => names.BuildCgroupParent;

    /// <summary>The cgroupparent to build with, or null (with the reason) when no limit can be set here.</summary>
    public (string? CgroupParent, string? Problem) Create(string jobId)
    {
        var pidsRoot = Directory.Exists(Path.Combine(Root, "pids")) ? Path.Combine(Root, "pids") : Root;
        try
        {
            var parent = Path.Combine(pidsRoot, Parent);
            Directory.CreateDirectory(parent);
            if (pidsRoot == Root)
            {
                // cgroup v2: the pids controller must be enabled for the children of each level.
                File.AppendAllText(Path.Combine(Root, "cgroup.subtree_control"), "+pids");
                File.AppendAllText(Path.Combine(parent, "cgroup.subtree_control"), "+pids");
            }
            var job = Path.Combine(parent, jobId);
            Directory.CreateDirectory(job);
            File.WriteAllText(Path.Combine(job, "pids.max"), build.Value.PidsLimit.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return (names.BuildCgroup(jobId), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"build pids limit not applied ({e.Message})");
        }
    }

    /// <summary>
    /// The ids of the build's running containers: with the cgroupfs driver the engine puts each RUN step's
    /// container in <c>&lt;cgroupparent&gt;/&lt;container id&gt;</c>.
    /// </summary>
    public IReadOnlyList<string> Containers(string jobId)
    {
        foreach (var root in new[] { Path.Combine(Root, "pids"), Root })
        {
            var job = Path.Combine(root, Parent, jobId);
            try
            {
                if (Directory.Exists(job))
                {
                    return Directory.GetDirectories(job).Select(Path.GetFileName).OfType<string>()
                        .Where(n => n.Length == 64 && n.All(char.IsAsciiHexDigitLower)).ToList();
                }
            }
            catch (IOException)
            {
                // the step ended while we listed it
            }
        }
        return [];
    }

    /// <summary>The job ids of every build cgroup of this instance (the janitor releases those of jobs not running).</summary>
    public IReadOnlyList<string> List() =>
        new[] { Path.Combine(Root, "pids"), Root }
            .Select(root => Path.Combine(root, Parent))
            .Where(Directory.Exists)
            .SelectMany(parent => Directory.GetDirectories(parent).Select(Path.GetFileName).OfType<string>())
            .Distinct(StringComparer.Ordinal)
            .ToList();

    /// <summary>Removes the build's cgroup (empty once the build containers are gone).</summary>
    public void Remove(string jobId)
    {
        foreach (var root in new[] { Path.Combine(Root, "pids"), Root })
        {
            var job = Path.Combine(root, Parent, jobId);
            try
            {
                if (Directory.Exists(job))
                {
                    Directory.Delete(job); // rmdir: cgroup directories hold only virtual files
                }
                var parent = Path.Combine(root, Parent);
                if (Directory.Exists(parent) && Directory.GetDirectories(parent).Length == 0)
                {
                    Directory.Delete(parent); // fails harmlessly when another build just created its own
                }
            }
            catch (IOException)
            {
                // still has processes; the next build's parent sweep or a reboot clears it
            }
        }
    }
}
