using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Server.IntegrationTests.Fleet.Infrastructure;

namespace Berth.Server.IntegrationTests.Infrastructure;

/// <summary>
/// A dockerd started for one test and owned by it, so that the test may stop, restart or kill it: no test stops or
/// restarts an engine the test run did not start. It runs in a network namespace (its own <c>berth-it-&lt;random&gt;</c>,
/// or one it is given) with its own data root, exec root, pid file, socket and config file, all in one directory; no
/// bridge, no iptables; its containers' cgroups under a parent of its own; gVisor registered as <c>runsc</c> when the
/// machine has it (as scripts/start-dockerd.sh does for the main engine). <c>busybox:latest</c> is built in it from
/// the machine's busybox-static (as scripts/base-images.sh builds it); other images are copied in from the machine's
/// main engine, which is only read from. Disposing stops the daemon and removes everything it made: its processes
/// (containerd, shims, containers), its mounts, its cgroups, its directory, and the namespace when it is its own.
/// </summary>
public sealed class OwnEngine : IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string _root;
    private readonly bool _ownsNamespace;
    private Process? _dockerd;

    private OwnEngine(string root, NetworkNamespace ns, bool ownsNamespace, string cgroupParent, string logPath)
    {
        _root = root;
        Namespace = ns;
        _ownsNamespace = ownsNamespace;
        CgroupParent = cgroupParent;
        LogPath = logPath;
        Endpoint = new Uri($"unix://{Path.Combine(root, "d.sock")}");
        Docker = new Docker(Endpoint);
    }

    /// <summary><c>unix://</c> and this engine's socket: what a Berth server's <c>Berth:DockerEndpoint</c> names.</summary>
    public Uri Endpoint { get; }

    /// <summary>A client for this engine only.</summary>
    public Docker Docker { get; }

    /// <summary>The network namespace the daemon (and so every build step it runs with the host network) is in.</summary>
    public NetworkNamespace Namespace { get; }

    /// <summary>The cgroup its containers run under (<c>/&lt;parent&gt;/&lt;container id&gt;</c>, the daemon's <c>cgroup-parent</c>).</summary>
    public string CgroupParent { get; }

    /// <summary>The daemon's output, every start appended.</summary>
    public string LogPath { get; }

    /// <summary>Whether the daemon started by this engine still runs.</summary>
    public bool IsRunning => _dockerd is { HasExited: false };

    /// <summary>The pid of the daemon's current (or last) start.</summary>
    public int DaemonId => _dockerd?.Id ?? throw new InvalidOperationException("the daemon was never started");

    /// <summary>Its processes, mounts, cgroups, directory (and namespace when its own), to remove or to look for.</summary>
    /// <remarks>Its processes carry its exec root on their command lines (dockerd's <c>--exec-root</c>, containerd's config,
    /// the shims' <c>-address</c>, runsc's <c>--root</c>); a client of its socket (an agent) does not.</remarks>
    public HostFootprint Footprint => new(_root, Environment.ProcessId, _ownsNamespace ? [Namespace.Name] : [], [], [CgroupParent], ExecRoot);

    private string ExecRoot => Path.Combine(_root, "x");

    /// <summary>
    /// Starts a dockerd of its own, in a network namespace of its own, in <c>/tmp/berth-it-eng-*</c>, with
    /// <paramref name="images"/>.
    /// </summary>
    public static async Task<OwnEngine> StartAsync(params string[] images)
    {
        // Short paths: the daemon's socket and its containerd's sockets (under the exec root) must fit in 108 bytes.
        var root = Directory.CreateTempSubdirectory("berth-it-eng-").FullName;
        NetworkNamespace ns;
        try
        {
            ns = await NetworkNamespace.CreateAsync($"berth-it-{Guid.NewGuid().ToString("N")[..12]}");
        }
        catch
        {
            Directory.Delete(root, recursive: true);
            throw;
        }
        return await StartAsync(new OwnEngine(root, ns, ownsNamespace: true, Path.GetFileName(root), Path.Combine(root, "dockerd.log")), images);
    }

    /// <summary>
    /// Starts a dockerd in <paramref name="ns"/> (the caller's: it is not deleted with the engine), with everything on disk in
    /// <paramref name="root"/> (created here; keep it short: the sockets under it must fit in 108 bytes) and its output in
    /// <paramref name="logPath"/> (outside the root, to outlive it). <paramref name="name"/> names its cgroup parent: unique on
    /// the machine.
    /// </summary>
    public static Task<OwnEngine> StartAsync(NetworkNamespace ns, string root, string name, string logPath, IEnumerable<string> images)
    {
        Directory.CreateDirectory(root);
        return StartAsync(new OwnEngine(root, ns, ownsNamespace: false, name, logPath), images);
    }

    private static async Task<OwnEngine> StartAsync(OwnEngine engine, IEnumerable<string> images)
    {
        try
        {
            await File.WriteAllTextAsync(Path.Combine(engine._root, "daemon.json"), DaemonConfig(engine.CgroupParent));
            await engine.StartDaemonAsync();
            foreach (var image in images)
            {
                await engine.AddImageAsync(image);
            }
            return engine;
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    /// <summary>A directory that is removed with this engine (a Berth server's data root, say).</summary>
    public string CreateDirectory(string name) => Directory.CreateDirectory(Path.Combine(_root, name)).FullName;

    /// <summary>
    /// Restarts this engine's own dockerd: SIGTERM (it stops its containers), wait for it to exit, start it again. After
    /// <see cref="CrashAsync"/> or <see cref="KillDaemonAsync"/> it only starts it.
    /// </summary>
    public async Task RestartAsync()
    {
        await StopDaemonAsync();
        await StartDaemonAsync();
    }

    /// <summary>
    /// SIGKILL to the daemon alone, as when dockerd crashes: its containerd dies with it, the containers and their shims
    /// keep running (until <see cref="RestartAsync"/>: a daemon without live-restore stops them when it starts).
    /// </summary>
    public async Task KillDaemonAsync()
    {
        if (_dockerd is { HasExited: false } dockerd)
        {
            dockerd.Kill();
            await dockerd.WaitForExitAsync();
        }
    }

    /// <summary>
    /// SIGKILL to every process of this engine at once, as when its machine loses power: the daemon, its containerd, the
    /// shims and every container's processes. What is on disk stays (containers recorded as running, mounts).
    /// </summary>
    public async Task CrashAsync()
    {
        var survivors = await HostProcesses.KillAllAsync(Footprint.ProcessesAsync, TimeSpan.FromSeconds(20));
        if (survivors.Count > 0)
        {
            throw new InvalidOperationException($"processes {string.Join(", ", survivors)} of the engine in {_root} survived SIGKILL");
        }
        if (_dockerd is { } dockerd)
        {
            using var reaped = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await dockerd.WaitForExitAsync(reaped.Token);
        }
    }

    /// <summary>Stops the daemon and removes everything it made; fails when something could not be removed.</summary>
    public async ValueTask DisposeAsync()
    {
        var problems = new List<string>();
        if (IsRunning)
        {
            try
            {
                foreach (var id in await Docker.AllContainerIdsAsync())
                {
                    await Docker.RemoveContainerAsync(id);
                }
            }
            catch (Exception e)
            {
                problems.Add($"removing its containers: {e.Message}");
            }
        }
        await StopDaemonAsync();
        Docker.Dispose();
        // After a SIGKILL its shims and containers may be left; then its mounts; its cgroups; its directory; its namespace.
        problems.AddRange(await Footprint.RemoveAsync());
        if (_ownsNamespace && problems.Count == 0)
        {
            await Namespace.DisposeAsync();
        }
        problems.AddRange(await Footprint.LeftoversAsync());
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"the engine in {_root} was not removed cleanly: {string.Join("; ", problems.Distinct())}");
        }
    }

    /// <summary>Mount points at or below <paramref name="path"/> in this mount namespace, deepest first.</summary>
    public static IReadOnlyList<string> MountsUnder(string path) => HostFootprint.MountsUnder(path);

    /// <summary>
    /// Its own config file, so that /etc/docker/daemon.json is not read: the same log cap as scripts/start-dockerd.sh, no
    /// bridge and no iptables, its own cgroup parent, and gVisor as <c>runsc</c> (ptrace, no network) when installed.
    /// </summary>
    private static string DaemonConfig(string cgroupParent)
    {
        var config = new Dictionary<string, object>
        {
            ["log-driver"] = "json-file",
            ["log-opts"] = new Dictionary<string, string> { ["max-size"] = "16m", ["max-file"] = "1" },
            ["bridge"] = "none",
            ["iptables"] = false,
            ["ip-forward"] = false,
            ["ip-masq"] = false,
            ["cgroup-parent"] = cgroupParent,
        };
        if (FindOnPath("runsc") is { } runsc)
        {
            config["runtimes"] = new Dictionary<string, object>
            {
                ["runsc"] = new { path = runsc, runtimeArgs = new[] { "--platform=ptrace", "--network=none" } },
            };
        }
        return JsonSerializer.Serialize(config);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    private async Task AddImageAsync(string image)
    {
        if (image == "busybox:latest")
        {
            await Docker.ImportAsync(BusyboxRootfs(), image, ["ENV PATH=/bin", "CMD [\"sh\"]"]);
            return;
        }
        using var main = new Docker();
        await main.CopyImageToAsync(image, Docker);
    }

    /// <summary>
    /// The busybox image's file system as scripts/base-images.sh makes it: /bin/busybox with a link per applet, /tmp mode
    /// 1777, and /etc/passwd and /etc/group with root and nobody.
    /// </summary>
    private static MemoryStream BusyboxRootfs()
    {
        const string busybox = "/bin/busybox";
        if (!File.Exists(busybox))
        {
            throw new InvalidOperationException($"{busybox} is missing: install Debian's busybox-static (scripts/setup.sh does)");
        }
        var applets = Shell.RunAsync(busybox, "--list").GetAwaiter().GetResult()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(a => a != "busybox");
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            const UnixFileMode directory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
            foreach (var dir in (string[])["bin", "etc", "data", "proc", "sys", "dev", "root", "home"])
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, dir + "/") { Mode = directory });
            }
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "tmp/")
            {
                Mode = directory | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit,
            });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox")
            {
                Mode = directory,
                DataStream = new MemoryStream(File.ReadAllBytes(busybox)),
            });
            foreach (var applet in applets)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, $"bin/{applet}") { LinkName = "busybox", Mode = directory });
            }
            const UnixFileMode file = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "etc/passwd")
            {
                Mode = file,
                DataStream = new MemoryStream(Encoding.ASCII.GetBytes("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")),
            });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "etc/group")
            {
                Mode = file,
                DataStream = new MemoryStream(Encoding.ASCII.GetBytes("root:x:0:\nnogroup:x:65534:\n")),
            });
        }
        tar.Position = 0;
        return tar;
    }

    private async Task StartDaemonAsync()
    {
        // nsenter (not `ip netns exec`, which remounts /sys: dockerd then finds no devices cgroup) execs dockerd in the
        // namespace, and sh execs nsenter with its output in the log: the process started here is dockerd itself.
        await File.AppendAllTextAsync(LogPath, "=== start\n");
        RemoveStalePidFiles();
        var start = new ProcessStartInfo("sh") { UseShellExecute = false };
        foreach (var argument in (string[])[
            "-c", "log=$1; shift; exec \"$@\" </dev/null >>\"$log\" 2>&1", "sh", LogPath,
            .. Namespace.Enter("dockerd", [
                "--data-root", Path.Combine(_root, "data"),
                "--exec-root", ExecRoot,
                "--pidfile", Path.Combine(_root, "dockerd.pid"),
                "--host", Endpoint.ToString(),
                "--config-file", Path.Combine(_root, "daemon.json"),
                "--storage-driver", "overlay2"])])
        {
            start.ArgumentList.Add(argument);
        }
        _dockerd?.Dispose();
        _dockerd = Process.Start(start)!;

        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            if (_dockerd.HasExited)
            {
                throw new InvalidOperationException($"dockerd exited with code {_dockerd.ExitCode}:\n{Log()}");
            }
            if (clock.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"dockerd did not answer on {Endpoint} within {StartTimeout.TotalSeconds} s ({last?.Message}):\n{Log()}");
            }
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await Docker.PingAsync(timeout.Token);
                break;
            }
            catch (Exception e)
            {
                last = e;
            }
            await Task.Delay(100);
        }
        // The pid this engine signals later must be the daemon's own.
        var pid = (await File.ReadAllTextAsync(Path.Combine(_root, "dockerd.pid"))).Trim();
        if (pid != _dockerd.Id.ToString(CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"dockerd wrote pid {pid} but the process started here is {_dockerd.Id}");
        }
    }

    /// <summary>
    /// After a kill, dockerd and its containerd may be zombies for a while (orphans wait for the machine's init to reap
    /// them), and a daemon that finds its pid file naming one thinks it still runs: dockerd refuses to start, or waits
    /// for a containerd that never answers. Pid files that name no live process go.
    /// </summary>
    private void RemoveStalePidFiles()
    {
        foreach (var file in (string[])[Path.Combine(_root, "dockerd.pid"), Path.Combine(ExecRoot, "containerd", "containerd.pid")])
        {
            if (File.Exists(file) && (!int.TryParse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture, out var pid) || !HostProcesses.IsLive(pid)))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>SIGTERM to this engine's own dockerd; SIGKILL (with its containerd) when it has not exited after the grace.</summary>
    private async Task StopDaemonAsync()
    {
        if (_dockerd is not { HasExited: false } dockerd)
        {
            return;
        }
        await Shell.RunAsync("kill", "-TERM", dockerd.Id.ToString(CultureInfo.InvariantCulture));
        using var grace = new CancellationTokenSource(StopGrace);
        try
        {
            await dockerd.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException)
        {
            dockerd.Kill(entireProcessTree: true);
            await dockerd.WaitForExitAsync();
        }
    }

    private string Log() => File.Exists(LogPath) ? string.Join('\n', File.ReadLines(LogPath).TakeLast(30)) : "(no log)";
}

/// <summary>
/// Tests that start an <see cref="OwnEngine"/>. They run alone, after the parallel collections: the shared suite's final
/// check counts every <c>/berth-it-</c> mount as left behind and deletes every <c>/tmp/berth-it-*</c> directory, which would
/// break an engine still running; and a dockerd restart should not compete with other tests for the machine's cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OwnEngineCollection
{
    public const string Name = "own-engine";
}
