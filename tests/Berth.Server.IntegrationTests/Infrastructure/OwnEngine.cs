using System.Diagnostics;
using System.Globalization;

namespace Berth.Server.IntegrationTests.Infrastructure;

/// <summary>
/// A dockerd started for one test and owned by it, so that the test may stop and restart it: no test stops or restarts
/// an engine the test run did not start. It has its own network namespace (<c>berth-it-&lt;random&gt;</c>) and its own
/// data root, exec root, pid file, socket and config file, all in one directory <c>/tmp/berth-it-eng-*</c>; no bridge,
/// no iptables. Base images are copied in from the machine's main engine, which is only read from. Disposing stops the
/// daemon and removes what it made: its containers, its mounts, its directory and its namespace.
/// </summary>
public sealed class OwnEngine : IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string _root;
    private readonly string _netns;
    private Process? _dockerd;

    private OwnEngine(string root, string netns)
    {
        _root = root;
        _netns = netns;
        Endpoint = new Uri($"unix://{Path.Combine(root, "d.sock")}");
        Docker = new Docker(Endpoint);
    }

    /// <summary><c>unix://</c> and this engine's socket: what a Berth server's <c>Berth:DockerEndpoint</c> names.</summary>
    public Uri Endpoint { get; }

    /// <summary>A client for this engine only.</summary>
    public Docker Docker { get; }

    private string LogPath => Path.Combine(_root, "dockerd.log");

    private string ExecRoot => Path.Combine(_root, "x");

    /// <summary>Starts a dockerd of its own and copies <paramref name="images"/> into it from the main engine.</summary>
    public static async Task<OwnEngine> StartAsync(params string[] images)
    {
        // Short paths: the daemon's socket and its containerd's sockets (under the exec root) must fit in 108 bytes.
        var root = Directory.CreateTempSubdirectory("berth-it-eng-").FullName;
        var engine = new OwnEngine(root, $"berth-it-{Guid.NewGuid().ToString("N")[..12]}");
        try
        {
            await RunAsync("ip", "netns", "add", engine._netns);
            await RunAsync("ip", "-n", engine._netns, "link", "set", "lo", "up");
            // Its own config file, so /etc/docker/daemon.json is not read; the same log cap as scripts/start-dockerd.sh.
            await File.WriteAllTextAsync(Path.Combine(root, "daemon.json"),
                """{ "log-driver": "json-file", "log-opts": { "max-size": "16m", "max-file": "1" } }""");
            await engine.StartDaemonAsync();
            using var main = new Docker();
            foreach (var image in images)
            {
                await main.CopyImageToAsync(image, engine.Docker);
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

    /// <summary>Restarts this engine's own dockerd: SIGTERM (it stops its containers), wait for it to exit, start it again.</summary>
    public async Task RestartAsync()
    {
        await StopDaemonAsync();
        await StartDaemonAsync();
    }

    /// <summary>Stops the daemon and removes everything it made; fails when something could not be removed.</summary>
    public async ValueTask DisposeAsync()
    {
        var problems = new List<string>();
        if (_dockerd is { HasExited: false })
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
        // After a SIGKILL its containerd shims may be left: their command lines name its exec root.
        foreach (var pid in ProcessesNaming(ExecRoot + "/"))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // already gone
            }
        }
        foreach (var mount in MountsUnder(_root))
        {
            try
            {
                await RunAsync("umount", "-l", mount);
            }
            catch (InvalidOperationException e)
            {
                problems.Add(e.Message);
            }
        }
        try
        {
            if (Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"deleting {_root}: {e.Message}");
        }
        if (File.Exists(Path.Combine("/run/netns", _netns)))
        {
            try
            {
                await RunAsync("ip", "netns", "delete", _netns);
            }
            catch (InvalidOperationException e)
            {
                problems.Add(e.Message);
            }
        }
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"the engine in {_root} was not removed cleanly: {string.Join("; ", problems)}");
        }
    }

    /// <summary>Mount points at or below <paramref name="path"/> in this mount namespace, deepest first.</summary>
    public static IReadOnlyList<string> MountsUnder(string path) =>
        File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4])
            .Where(m => m == path || m.StartsWith(path.TrimEnd('/') + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length)
            .ToList();

    private async Task StartDaemonAsync()
    {
        // nsenter (not `ip netns exec`, which remounts /sys: dockerd then finds no devices cgroup) execs dockerd in the
        // namespace, and sh execs nsenter with its output in the log: the process started here is dockerd itself.
        var start = new ProcessStartInfo("sh") { UseShellExecute = false };
        foreach (var argument in (string[])[
            "-c", "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1", "sh", LogPath,
            "nsenter", $"--net=/run/netns/{_netns}", "dockerd",
            "--data-root", Path.Combine(_root, "data"),
            "--exec-root", ExecRoot,
            "--pidfile", Path.Combine(_root, "dockerd.pid"),
            "--host", Endpoint.ToString(),
            "--config-file", Path.Combine(_root, "daemon.json"),
            "--storage-driver", "overlay2",
            "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false"])
        {
            start.ArgumentList.Add(argument);
        }
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

    /// <summary>SIGTERM to this engine's own dockerd; SIGKILL (with its containerd) when it has not exited after the grace.</summary>
    private async Task StopDaemonAsync()
    {
        if (_dockerd is null)
        {
            return;
        }
        using var dockerd = _dockerd;
        _dockerd = null;
        if (dockerd.HasExited)
        {
            return;
        }
        await RunAsync("kill", "-TERM", dockerd.Id.ToString(CultureInfo.InvariantCulture));
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

    private static IEnumerable<int> ProcessesNaming(string path)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            string commandLine;
            try
            {
                commandLine = File.ReadAllText(Path.Combine(dir, "cmdline"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // exited meanwhile
            }
            if (commandLine.Contains(path, StringComparison.Ordinal))
            {
                yield return pid;
            }
        }
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}{await output}");
        }
    }
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
