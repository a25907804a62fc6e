using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Server.Docker;

/// <summary>
/// The seccomp profile of job containers, passed inline as <c>seccomp=&lt;json&gt;</c> (Docker's profile format). It is an
/// allow-list: every x86_64 syscall of <see cref="LinuxSyscalls.X86_64"/> is allowed except the <see cref="Denied"/> ones,
/// the <see cref="AnsweredEnosys"/> ones and the <see cref="Conditional"/> ones, which pass only with safe arguments. Anything else
/// and any syscall a later kernel adds is refused; a 32-bit (i386, x32) syscall kills the calling thread (libseccomp's bad-arch
/// action), as only x86_64 is listed. <c>defaultErrnoRet</c> is for engines from 23.0: 20.10 ignores it, and EPERM is runc's
/// default anyway. Built once per process.
/// </summary>
internal static class JobSeccompProfile
{
    public const uint Eperm = 1;
    public const uint Enosys = 38;
    private const string Allow = "SCMP_ACT_ALLOW";
    private const string Errno = "SCMP_ACT_ERRNO";

    /// <summary>CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET.</summary>
    public const ulong CloneNamespaceFlags = 0x7E02_0000;

    /// <summary>PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32 and the query 0xffffffff: no persona that turns off ASLR or maps page 0.</summary>
    public static readonly IReadOnlyList<ulong> SafePersonas = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xFFFF_FFFF];

    /// <summary>AF_UNIX, AF_INET, AF_INET6, AF_NETLINK: the namespaced families. Not AF_VSOCK, which reaches the VM's host past <c>--network none</c>.</summary>
    public static readonly IReadOnlyList<ulong> SocketFamilies = [1, 2, 10, 16];

    public const ulong AfUnix = 1;

    /// <summary>Refused with EPERM (the default action), each group with the reason.</summary>
    public static readonly IReadOnlyList<DenyGroup> Denied =
    [
        new("blocked by Docker's default profile (docs.docker.com, \"Seccomp security profiles for Docker\"); stime, umount, vm86 and vm86old are i386-only and refused with every i386 syscall",
        [
            "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "finit_module",
            "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load",
            "keyctl", "lookup_dcookie", "mbind", "mount", "move_pages", "name_to_handle_at", "nfsservctl",
            "open_by_handle_at", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace",
            "query_module", "quotactl", "reboot", "request_key", "set_mempolicy", "setns", "settimeofday", "swapon",
            "swapoff", "sysfs", "_sysctl", "umount2", "unshare", "uselib", "userfaultfd", "ustat",
        ]),
        new("need a capability a job never has (cap-drop ALL), except where they do not: syslog reads the host's kernel log when dmesg_restrict is 0, and unprivileged fanotify (Linux 5.13+) counts against a per-user limit tenants share",
            ["chroot", "fanotify_init", "sethostname", "setdomainname", "syslog", "vhangup"]),
        new("the new mount API: mount(2) by other means", ["open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"]),
        new("newer relatives of denied calls: quotas, NUMA memory policy, reaching into another process",
            ["quotactl_fd", "migrate_pages", "set_mempolicy_home_node", "pidfd_getfd", "process_madvise"]),
        new("the host clock is not namespaced (older Docker documentation lists adjtimex with clock_settime)", ["adjtimex"]),
        new("kernel surface no 64-bit job needs: 16-bit segments, and secret memory taken out of the kernel's direct map", ["modify_ldt", "memfd_secret"]),
        new("not implemented by Linux", ["afs_syscall", "epoll_ctl_old", "epoll_wait_old", "getpmsg", "putpmsg", "security", "tuxcall", "vserver"]),
    ];

    /// <summary>
    /// Answered with ENOSYS, as on a kernel without them: io_uring (a large kernel surface; libraries fall back to epoll and
    /// threads), and clone3, whose flags the filter cannot see (they are in memory), so libc falls back to clone.
    /// </summary>
    public static readonly IReadOnlyList<string> AnsweredEnosys = ["clone3", "io_uring_setup", "io_uring_enter", "io_uring_register"];

    /// <summary>Allowed only with the arguments of <see cref="Build"/>'s rules: clone, personality, socket, socketpair.</summary>
    public static readonly IReadOnlyList<string> Conditional = ["clone", "personality", "socket", "socketpair"];

    /// <summary>The syscalls allowed with any arguments, in number order.</summary>
    public static IReadOnlyList<string> Allowed { get; } = LinuxSyscalls.X86_64
        .Except(Denied.SelectMany(g => g.Names)).Except(AnsweredEnosys).Except(Conditional).ToArray();

    /// <summary>The profile, as the value after <c>seccomp=</c>.</summary>
    public static string Json { get; } = JsonSerializer.Serialize(Build(), SerializerOptions);

    private static JsonSerializerOptions SerializerOptions => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static Profile Build()
    {
        List<Rule> rules =
        [
            new([.. Allowed], Allow),
            new([.. AnsweredEnosys], Errno, ErrnoRet: Enosys),
            new(["clone"], Allow, [new Arg(0, CloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ")]),
        ];
        rules.AddRange(SafePersonas.Select(p => new Rule(["personality"], Allow, [new Arg(0, p, 0, "SCMP_CMP_EQ")])));
        rules.AddRange(SocketFamilies.Select(f => new Rule(["socket"], Allow, [new Arg(0, f, 0, "SCMP_CMP_EQ")])));
        rules.Add(new Rule(["socketpair"], Allow, [new Arg(0, AfUnix, 0, "SCMP_CMP_EQ")]));
        return new Profile(Errno, Eperm, ["SCMP_ARCH_X86_64"], rules);
    }

    internal sealed record DenyGroup(string Reason, IReadOnlyList<string> Names);

    private sealed record Profile(string DefaultAction, uint DefaultErrnoRet, IReadOnlyList<string> Architectures, IReadOnlyList<Rule> Syscalls);

    private sealed record Rule(IReadOnlyList<string> Names, string Action, IReadOnlyList<Arg>? Args = null, uint? ErrnoRet = null);

    /// <summary>For SCMP_CMP_MASKED_EQ, <paramref name="Value"/> is the mask and <paramref name="ValueTwo"/> the masked value.</summary>
    private sealed record Arg(uint Index, ulong Value, ulong ValueTwo, string Op);
}
