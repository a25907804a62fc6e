using System.Text.Json;
using Berth.Server.Docker;

namespace Berth.Server.Tests.Docker;

public sealed class JobSeccompProfileTests
{
    private const string Allow = "SCMP_ACT_ALLOW";
    private static readonly JsonElement Profile = JsonDocument.Parse(JobSeccompProfile.Json).RootElement;

    /// <summary>The syscalls docs.docker.com lists as blocked by Docker's default profile (personality and clone are filtered by argument).</summary>
    public static readonly TheoryData<string> DockerDocumentedBlocked = new(
    [
        "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "finit_module",
        "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl",
        "lookup_dcookie", "mbind", "mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
        "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "query_module", "quotactl",
        "reboot", "request_key", "set_mempolicy", "setns", "settimeofday", "stime", "swapon", "swapoff", "sysfs", "_sysctl",
        "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
    ]);

    /// <summary>What busybox, glibc, musl, Python and threaded programs call.</summary>
    public static readonly TheoryData<string> CommonSyscalls = new(
    [
        "read", "write", "openat", "close", "mmap", "mprotect", "munmap", "brk", "futex", "rseq", "statx", "newfstatat",
        "execve", "wait4", "exit_group", "getrandom", "faccessat2", "close_range", "epoll_pwait2", "futex_waitv",
        "set_robust_list", "set_tid_address", "prlimit64", "sched_getaffinity", "pidfd_open", "membarrier", "fork", "vfork",
        "connect", "bind", "sendmsg", "madvise", "ioctl", "getdents64", "pipe2", "dup3", "eventfd2", "epoll_create1",
    ]);

    private static IEnumerable<JsonElement> Rules => Profile.GetProperty("syscalls").EnumerateArray();

    private static string?[] Names(JsonElement rule) => rule.GetProperty("names").EnumerateArray().Select(n => n.GetString()).ToArray();

    private static List<JsonElement> RulesFor(string name) => Rules.Where(r => Names(r).Contains(name)).ToList();

    private static bool EverAllowed(string name) => RulesFor(name).Any(r => r.GetProperty("action").GetString() == Allow);

    /// <summary>The values a syscall's first argument must equal for one of its ALLOW rules to match.</summary>
    private static ulong[] AllowedFirstArguments(string name) => RulesFor(name)
        .Select(r => Assert.Single(r.GetProperty("args").EnumerateArray()))
        .Select(a => (a.GetProperty("index").GetInt32(), a.GetProperty("op").GetString(), a.GetProperty("value").GetUInt64()))
        .Select(a => a.Item1 == 0 && a.Item2 == "SCMP_CMP_EQ" ? a.Item3 : throw new InvalidOperationException($"{name}: {a}"))
        .Order().ToArray();

    [Fact]
    public void Json_IsADockerProfileThatRefusesEverythingItDoesNotList()
    {
        Assert.Equal("SCMP_ACT_ERRNO", Profile.GetProperty("defaultAction").GetString());
        Assert.Equal(1, Profile.GetProperty("defaultErrnoRet").GetInt32()); // EPERM
        Assert.Equal(["SCMP_ARCH_X86_64"], Profile.GetProperty("architectures").EnumerateArray().Select(a => a.GetString()));
        Assert.All(Rules, rule =>
        {
            Assert.NotEmpty(Names(rule));
            Assert.Contains(rule.GetProperty("action").GetString(), new[] { Allow, "SCMP_ACT_ERRNO" });
            Assert.Equal(rule.GetProperty("action").GetString() == "SCMP_ACT_ERRNO", rule.TryGetProperty("errnoRet", out _));
        });
    }

    [Theory]
    [InlineData("io_uring_setup")]
    [InlineData("io_uring_enter")]
    [InlineData("io_uring_register")]
    public void Json_IoUring_AnswersEnosysAndIsNeverAllowed(string name)
    {
        var rule = Assert.Single(RulesFor(name));
        Assert.Equal(("SCMP_ACT_ERRNO", 38), (rule.GetProperty("action").GetString(), rule.GetProperty("errnoRet").GetInt32()));
    }

    [Theory]
    [MemberData(nameof(DockerDocumentedBlocked))]
    public void Json_WhatDockerDocumentsAsBlocked_IsNeverAllowed(string name) => Assert.False(EverAllowed(name), name);

    [Theory]
    [InlineData("pidfd_getfd")]
    [InlineData("process_madvise")]
    [InlineData("fsopen")]
    [InlineData("open_tree")]
    [InlineData("syslog")]
    [InlineData("chroot")]
    [InlineData("modify_ldt")]
    [InlineData("memfd_secret")]
    [InlineData("set_mempolicy_home_node")]
    public void Json_CallsDeniedBeyondDockersList_AreNeverNamed(string name) =>
        Assert.Empty(RulesFor(name)); // the default action: EPERM

    [Theory]
    [MemberData(nameof(CommonSyscalls))]
    public void Json_CommonSyscalls_AreAllowedWithAnyArguments(string name)
    {
        var rule = Assert.Single(RulesFor(name));
        Assert.Equal(Allow, rule.GetProperty("action").GetString());
        Assert.False(rule.TryGetProperty("args", out _));
    }

    [Fact]
    public void Json_Clone_IsAllowedOnlyWithoutNamespaceFlags()
    {
        var rule = Assert.Single(RulesFor("clone"));
        var arg = Assert.Single(rule.GetProperty("args").EnumerateArray());

        Assert.Equal(Allow, rule.GetProperty("action").GetString());
        Assert.Equal((0, "SCMP_CMP_MASKED_EQ", 0UL), (arg.GetProperty("index").GetInt32(), arg.GetProperty("op").GetString(), arg.GetProperty("valueTwo").GetUInt64()));
        var mask = arg.GetProperty("value").GetUInt64(); // (flags & mask) == 0
        ulong[] namespaces = [0x0002_0000, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000]; // NS CGROUP UTS IPC USER PID NET
        Assert.All(namespaces, flag => Assert.Equal(flag, mask & flag));
        Assert.Equal(0UL, mask & (0x0000_0100 | 0x0000_0200 | 0x0000_0400 | 0x0000_0800 | 0x0001_0000 | 0x11)); // VM FS FILES SIGHAND THREAD, SIGCHLD
    }

    [Fact]
    public void Json_Clone3_AnswersEnosysSoLibcFallsBackToClone()
    {
        var rule = Assert.Single(RulesFor("clone3"));

        Assert.Equal(("SCMP_ACT_ERRNO", 38), (rule.GetProperty("action").GetString(), rule.GetProperty("errnoRet").GetInt32()));
    }

    [Fact]
    public void Json_Personality_AllowsOnlyTheSafePersonas()
    {
        var personas = AllowedFirstArguments("personality");

        Assert.Equal([0x0UL, 0x8, 0x2_0000, 0x2_0008, 0xFFFF_FFFF], personas);
        Assert.DoesNotContain(0x4_0000UL, personas); // ADDR_NO_RANDOMIZE
        Assert.DoesNotContain(0x10_0000UL, personas); // MMAP_PAGE_ZERO
    }

    [Fact]
    public void Json_Sockets_OnlyUnixInetInet6AndNetlink_NeverVsock()
    {
        Assert.Equal([1UL, 2, 10, 16], AllowedFirstArguments("socket"));
        Assert.Equal([1UL], AllowedFirstArguments("socketpair"));
    }

    [Fact]
    public void Json_NamesOnlyX86_64Syscalls_EachWithOneAction()
    {
        var named = Rules.SelectMany(r => Names(r).Select(n => (Name: n, Action: r.GetProperty("action").GetString()))).ToList();

        Assert.All(named, n => Assert.Contains(n.Name, LinuxSyscalls.X86_64));
        Assert.All(named.GroupBy(n => n.Name), g => Assert.Single(g.Select(n => n.Action).Distinct()));
    }

    [Fact]
    public void Classification_CoversEverySyscallExactlyOnce()
    {
        var denied = JobSeccompProfile.Denied.SelectMany(g => g.Names).ToList();
        var all = denied.Concat(JobSeccompProfile.AnsweredEnosys).Concat(JobSeccompProfile.Conditional).Concat(JobSeccompProfile.Allowed).ToList();

        Assert.All(denied, n => Assert.Contains(n, LinuxSyscalls.X86_64)); // no misspelt name denies nothing
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(LinuxSyscalls.X86_64.Order(), all.Order());
        Assert.All(JobSeccompProfile.Denied, g => Assert.False(string.IsNullOrWhiteSpace(g.Reason)));
    }

    [Fact]
    public void LinuxSyscalls_X86_64_IsTheNumberedTable()
    {
        var table = LinuxSyscalls.X86_64;

        Assert.Equal(335 + 27, table.Count); // 0–334, 424–450
        Assert.Equal(("read", "rseq", "pidfd_send_signal", "set_mempolicy_home_node"), (table[0], table[334], table[335], table[^1]));
        Assert.Equal("io_uring_setup", table[335 + (425 - 424)]);
        Assert.Equal(table.Count, table.Distinct().Count());
    }
}
