using System.Diagnostics;
using Berth.Server.Pipeline;

namespace Berth.Server.Tests.Pipeline;

/// <summary>The gVisor process checks against a fake /proc tree: a directory per pid with cmdline, cgroup and an exe link.</summary>
public sealed class RunscProcessesTests : IDisposable
{
    private static readonly string Ours = new('a', 64);
    private static readonly string Other = new('b', 64);

    private readonly string _root = Directory.CreateTempSubdirectory("berth-proc-").FullName;

    public RunscProcessesTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "proc"));
        Directory.CreateDirectory(Path.Combine(_root, "bin"));
        Directory.CreateDirectory(Path.Combine(_root, "job"));
        File.WriteAllText(HostRunsc, "the host's runsc");
        File.Copy(HostRunsc, JobsRunsc); // a job's own copy: same bytes, another inode
    }

    private string Proc => Path.Combine(_root, "proc");

    private string HostRunsc => Path.Combine(_root, "bin", "runsc");

    private string JobsRunsc => Path.Combine(_root, "job", "runsc");

    private FileIdentity? Runsc => FileIdentity.Of(HostRunsc);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void AddProcess(int pid, string argv0, string cmdlineId, string cgroupId, string? exe = null)
    {
        var directory = Path.Combine(Proc, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "cmdline"), $"{argv0}\0--root=/var/run/docker/runtime-runc/moby\0boot\0--bundle=/run/containerd/io.containerd.runtime.v2.task/moby/{cmdlineId}\0{cmdlineId}\0");
        File.WriteAllText(Path.Combine(directory, "cgroup"), $"0::/system.slice/docker-{cgroupId}.scope\n");
        File.CreateSymbolicLink(Path.Combine(directory, "exe"), exe ?? HostRunsc);
    }

    [Fact]
    public void FileIdentity_Of_FollowsLinksAndTellsCopiesApart()
    {
        var link = Path.Combine(_root, "link");
        File.CreateSymbolicLink(link, HostRunsc);

        Assert.NotNull(Runsc);
        Assert.Equal(Runsc, FileIdentity.Of(link));
        Assert.NotEqual(Runsc, FileIdentity.Of(JobsRunsc));
        Assert.Null(FileIdentity.Of(Path.Combine(_root, "missing")));
    }

    [Fact]
    public void Find_ListsGofersAndSandboxesOnly()
    {
        AddProcess(10, "runsc-gofer", Ours, Ours);
        AddProcess(11, "runsc-sandbox", Ours, Ours);
        AddProcess(12, "sleep", Ours, Ours);
        AddProcess(13, "/usr/bin/runsc", Ours, Ours); // `runsc delete` and friends: the shim's, never touched
        Directory.CreateDirectory(Path.Combine(Proc, "self"));

        Assert.Equal(
            [new RunscProcess(10, Ours, Runsc), new RunscProcess(11, Ours, Runsc)],
            RunscProcesses.Find(Proc).OrderBy(p => p.Pid));
    }

    [Fact]
    public void Read_CommandLineAndCgroupNameDifferentContainers_IsNotAGvisorProcess()
    {
        // A job under runc names another container on its command line; its cgroup names its own container.
        AddProcess(10, "runsc-gofer", Ours, Other);

        Assert.Null(RunscProcesses.Read(Proc, 10));
    }

    [Fact]
    public void Read_ProcessGone_IsNull() => Assert.Null(RunscProcesses.Read(Proc, 99));

    [Fact]
    public void Plan_GenuineProcessOfARecordedContainerTheEngineLacks_IsKilled()
    {
        AddProcess(10, "runsc-sandbox", Ours, Ours);

        var plan = RunscProcesses.Plan([Ours], RunscProcesses.Find(Proc), Runsc);

        Assert.Equal([10], plan.Kill.Select(p => p.Pid));
        Assert.Empty(plan.Forget); // forgotten once its processes are gone
    }

    [Fact]
    public void Plan_ProcessRunningAJobsCopyOfRunsc_IsNotKilled()
    {
        AddProcess(10, "runsc-gofer", Ours, Ours, exe: JobsRunsc);

        var plan = RunscProcesses.Plan([Ours], RunscProcesses.Find(Proc), Runsc);

        Assert.Empty(plan.Kill);
        Assert.Empty(plan.Forget);
    }

    [Fact]
    public void Plan_ContainerThisInstanceDidNotRecord_IsNotKilled()
    {
        // Another engine's or another Berth's sandbox: its container is not on this engine, but it is not ours either.
        AddProcess(10, "runsc-sandbox", Other, Other);

        var plan = RunscProcesses.Plan([Ours], RunscProcesses.Find(Proc), Runsc);

        Assert.Empty(plan.Kill);
        Assert.Equal([Ours], plan.Forget);
    }

    [Fact]
    public void Plan_NoRunscRegisteredInTheEngine_KillsNothing()
    {
        AddProcess(10, "runsc-sandbox", Ours, Ours);

        Assert.Empty(RunscProcesses.Plan([Ours], RunscProcesses.Find(Proc), runsc: null).Kill);
    }

    [Fact]
    public void Kill_ProcessAsRead_IsKilled()
    {
        using var process = Process.Start("sleep", "300");
        try
        {
            AddProcess(process.Id, "runsc-gofer", Ours, Ours);

            Assert.True(RunscProcesses.Kill(Proc, RunscProcesses.Read(Proc, process.Id)!));
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            process.Kill();
        }
    }

    [Fact]
    public void Kill_ProcessChangedSinceItWasRead_IsLeftAlone()
    {
        using var process = Process.Start("sleep", "300");
        try
        {
            AddProcess(process.Id, "runsc-gofer", Ours, Ours);
            var read = RunscProcesses.Read(Proc, process.Id)!;
            var exe = Path.Combine(Proc, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "exe");
            File.Delete(exe);
            File.CreateSymbolicLink(exe, JobsRunsc); // the pid now belongs to something else

            Assert.False(RunscProcesses.Kill(Proc, read));
            Assert.False(process.WaitForExit(TimeSpan.FromMilliseconds(200)));
        }
        finally
        {
            process.Kill();
        }
    }

    [Fact]
    public void Kill_PidThatDoesNotExist_IsFalse()
    {
        AddProcess(int.MaxValue - 1, "runsc-gofer", Ours, Ours);

        Assert.False(RunscProcesses.Kill(Proc, RunscProcesses.Read(Proc, int.MaxValue - 1)!));
    }
}
