using System.Diagnostics;
using System.Globalization;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>A command line to start: the file, its arguments, and variables added to the environment.</summary>
public sealed record FleetCommand(string File, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string>? Environment = null)
{
    /// <summary><c>dotnet &lt;dll&gt; args...</c>.</summary>
    public static FleetCommand Dotnet(string dll, params IEnumerable<string> arguments) => new("dotnet", [dll, .. arguments]);
}

/// <summary>
/// One process of a lab (an API server, an agent), started in a network namespace (or the root one: null) with its
/// standard output and error appended to one log file, outside the test process: the log survives a kill, and the pid
/// is the program's own (<c>sh</c> execs <c>nsenter</c>, which execs the program). It can be killed with SIGKILL,
/// stopped with SIGTERM, and started again with the same command line (the log goes on in the same file).
/// </summary>
public sealed class FleetProcess : IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    private readonly NetworkNamespace? _namespace;
    private Process? _process;
    private int _starts;

    private FleetProcess(string name, NetworkNamespace? ns, FleetCommand command, string logPath)
    {
        Name = name;
        _namespace = ns;
        Command = command;
        LogPath = logPath;
    }

    public string Name { get; }

    public FleetCommand Command { get; }

    /// <summary>Standard output and error of every start, each start after a line <c>=== start N ...</c>.</summary>
    public string LogPath { get; }

    /// <summary>The pid of the current start (also after it exited, until the next start).</summary>
    public int Id => _process?.Id ?? throw new InvalidOperationException($"{Name} was never started");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts <paramref name="command"/> in <paramref name="ns"/> (null: the root namespace).</summary>
    public static FleetProcess Start(string name, NetworkNamespace? ns, FleetCommand command, string logPath)
    {
        var process = new FleetProcess(name, ns, command, logPath);
        process.StartOnce();
        return process;
    }

    /// <summary>The last <paramref name="lines"/> lines of the log.</summary>
    public string LogTail(int lines = 40) =>
        File.Exists(LogPath) ? string.Join('\n', File.ReadLines(LogPath).TakeLast(lines)) : "(no log)";

    /// <summary>SIGKILL to the process and its descendants: it gets no chance to clean up. Returns when it is gone.</summary>
    public async Task Kill9Async()
    {
        if (_process is not { } process || process.HasExited)
        {
            return;
        }
        var survivors = await HostProcesses.KillAllAsync(
            () => Task.FromResult(process.HasExited ? (IReadOnlyList<int>)[] : HostProcesses.WithDescendants([process.Id])), TimeSpan.FromSeconds(10));
        if (survivors.Count > 0)
        {
            throw new InvalidOperationException($"{Name}: processes {string.Join(", ", survivors)} survived SIGKILL");
        }
        await process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then SIGKILL if it has not exited within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (_process is not { } process || process.HasExited)
        {
            return;
        }
        await Shell.TryRunAsync("kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
        using var timeout = new CancellationTokenSource(grace ?? StopGrace);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await Kill9Async();
        }
    }

    /// <summary>Stops it when it runs (SIGTERM), then starts the same command line again.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        StartOnce();
    }

    /// <summary>
    /// Polls <paramref name="ready"/> until it returns true. Fails, with the log's tail, when the process exits first or
    /// <paramref name="timeout"/> passes. An exception from the probe counts as "not yet".
    /// </summary>
    public async Task WaitUntilAsync(Func<CancellationToken, Task<bool>> ready, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            if (!IsRunning)
            {
                throw new InvalidOperationException($"{Name} exited ({_process?.ExitCode}) before it was ready; {LogPath}:\n{LogTail()}");
            }
            try
            {
                using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                if (await ready(probe.Token))
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or InvalidOperationException)
            {
                last = e;
            }
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds} s ({last?.Message}); {LogPath}:\n{LogTail()}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Stops it (SIGTERM, then SIGKILL).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
    }

    public override string ToString() => Name;

    private void StartOnce()
    {
        _starts++;
        var command = _namespace is null ? [Command.File, .. Command.Arguments] : _namespace.Enter(Command.File, Command.Arguments);
        File.AppendAllText(LogPath, $"=== start {_starts}: {string.Join(' ', command)}\n");
        var start = new ProcessStartInfo("sh") { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(LogPath)! };
        // sh execs the command with its output appended to the log and no input: nothing passes through this process.
        foreach (var argument in (string[])["-c", "log=$1; shift; exec \"$@\" </dev/null >>\"$log\" 2>&1", "sh", LogPath, .. command])
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in Command.Environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        _process?.Dispose();
        _process = Process.Start(start)!;
    }
}
