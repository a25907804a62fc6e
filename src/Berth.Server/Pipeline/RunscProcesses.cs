using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Berth.Server.Pipeline;

/// <summary>A file's identity: the device and inode that <c>stat</c> reports (following symbolic links).</summary>
internal readonly partial record struct FileIdentity(ulong DeviceMajor, ulong DeviceMinor, ulong Inode)
{
    /// <summary>The identity of <paramref name="path"/>, or null when it cannot be read (gone, or no permission).</summary>
    public static FileIdentity? Of(string path)
    {
        if (statx(AtFdCwd, path, 0, StatxBasicStats, out var buffer) != 0)
        {
            return null;
        }
        return new FileIdentity(buffer.DevMajor, buffer.DevMinor, buffer.Inode);
    }

    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;

    /// <summary>The parts of <c>struct statx</c> read here; its layout is the same on every architecture.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Statx
    {
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirFd, string path, int flags, uint mask, out Statx buffer);
}

/// <summary>A gVisor gofer or sandbox process: the one container id its command line and its cgroup both name, and its executable.</summary>
internal sealed record RunscProcess(int Pid, string ContainerId, FileIdentity? Executable);

/// <summary>What a janitor sweep does about the gVisor processes of containers the engine no longer has.</summary>
internal sealed record RunscPlan(IReadOnlyList<RunscProcess> Kill, IReadOnlyList<string> Forget);

/// <summary>
/// Finds gVisor's host processes in a /proc tree and kills them only when they are provably a runsc sandbox of one of
/// this instance's containers. A process name and command line are chosen by whoever starts the process (a job under
/// runc can call itself <c>runsc-gofer</c> and name any id); the executable's inode and the cgroup are not.
/// </summary>
internal static partial class RunscProcesses
{
    /// <summary>gVisor sets argv[0] of the processes it re-executes from its own binary to these names.</summary>
    private static readonly string[] Names = ["runsc-gofer", "runsc-sandbox"];

    private const int SysPidfdSendSignal = 424; // the same number on every architecture
    private const int SysPidfdOpen = 434;
    private const int SigKill = 9;

    public static IReadOnlyList<RunscProcess> Find(string procRoot)
    {
        var found = new List<RunscProcess>();
        foreach (var directory in Directory.EnumerateDirectories(procRoot))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && pid > 0 && Read(procRoot, pid) is { } process)
            {
                found.Add(process);
            }
        }
        return found;
    }

    /// <summary>The process as a gVisor process, or null when it is not one (or is gone, or is ambiguous).</summary>
    public static RunscProcess? Read(string procRoot, int pid)
    {
        var directory = Path.Combine(procRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string cmdline, cgroup;
        try
        {
            cmdline = File.ReadAllText(Path.Combine(directory, "cmdline"));
            if (!Names.Contains(cmdline.Split('\0')[0], StringComparer.Ordinal))
            {
                return null;
            }
            cgroup = File.ReadAllText(Path.Combine(directory, "cgroup"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // exited meanwhile
        }
        var named = ContainerIds(cmdline).Intersect(ContainerIds(cgroup), StringComparer.Ordinal).ToList();
        return named.Count == 1 ? new RunscProcess(pid, named[0], FileIdentity.Of(Path.Combine(directory, "exe"))) : null;
    }

    /// <summary>
    /// Kills the processes of <paramref name="gone"/> containers (recorded by this instance, no longer on the engine)
    /// whose executable is the engine's runsc binary; forgets a gone container once no process names it any more.
    /// </summary>
    public static RunscPlan Plan(IReadOnlyCollection<string> gone, IReadOnlyList<RunscProcess> found, FileIdentity? runsc)
    {
        var kill = found.Where(p => runsc is not null && p.Executable == runsc && gone.Contains(p.ContainerId, StringComparer.Ordinal)).ToList();
        var forget = gone.Where(id => !found.Any(p => p.ContainerId == id)).ToList();
        return new RunscPlan(kill, forget);
    }

    /// <summary>
    /// SIGKILL through a pidfd, after reading the process again through it: a pid the kernel gave to another process
    /// since <paramref name="target"/> was read is never signalled. False when the process is gone or changed.
    /// </summary>
    public static bool Kill(string procRoot, RunscProcess target)
    {
        var fd = (int)syscall(SysPidfdOpen, target.Pid, 0, 0, 0);
        if (fd < 0)
        {
            return false;
        }
        try
        {
            return Read(procRoot, target.Pid) == target && syscall(SysPidfdSendSignal, fd, SigKill, 0, 0) == 0;
        }
        finally
        {
            _ = close(fd);
        }
    }

    private static IEnumerable<string> ContainerIds(string text) => ContainerIdPattern().Matches(text).Select(m => m.Value).Distinct();

    [GeneratedRegex("(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")]
    private static partial Regex ContainerIdPattern();

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, long arg1, long arg2, long arg3, long arg4);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
