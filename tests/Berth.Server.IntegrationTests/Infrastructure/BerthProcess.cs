using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Berth.Server.IntegrationTests.Infrastructure;

/// <summary>A real Berth server process on a loopback port, with its own data root.</summary>
public sealed class BerthProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _logPath;
    private readonly Uri _engine;

    private BerthProcess(Process process, Uri baseAddress, string dataRoot, string logPath, Uri engine)
    {
        _process = process;
        _logPath = logPath;
        _engine = engine;
        DataRoot = dataRoot;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public HttpClient Client { get; }

    public string DataRoot { get; }

    public string Log => File.Exists(_logPath) ? File.ReadAllText(_logPath) : "";

    /// <summary>Starts the server and waits until <paramref name="readiness"/> (/readyz unless told) answers 200.</summary>
    public static async Task<BerthProcess> StartAsync(
        string dataRoot, IReadOnlyDictionary<string, string> settings, int? port = null, string host = "127.0.0.1", string readiness = "/readyz")
    {
        Directory.CreateDirectory(dataRoot);
        var url = $"http://{host}:{port ?? FreePort()}";
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServerDll());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(url);
        start.ArgumentList.Add($"--Berth:DataRoot={dataRoot}");
        // Tests remove job images at once unless they say otherwise: the suite checks that nothing is left.
        var all = new Dictionary<string, string>(settings);
        all.TryAdd("Build:ImageRetentionSeconds", "0");
        foreach (var (key, value) in all)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }
        var logPath = Path.Combine(dataRoot, $"server-{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var engine = all.TryGetValue("Berth:DockerEndpoint", out var endpoint) ? new Uri(endpoint) : Docker.MainEndpoint;
        var server = new BerthProcess(process, new Uri(url.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)), dataRoot, logPath, engine);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                process.WaitForExit(); // the parameterless wait also drains the redirected output into the log
                throw new InvalidOperationException($"Berth exited with code {process.ExitCode}:\n{server.Log}");
            }
            try
            {
                using var ready = await server.Client.GetAsync(new Uri(readiness, UriKind.Relative));
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"Berth did not become ready:\n{server.Log}");
    }

    public int Port => Client.BaseAddress!.Port;

    /// <summary>The server's peak resident memory since it started, in bytes: VmHWM from /proc/&lt;pid&gt;/status.</summary>
    public long PeakResidentBytes
    {
        get
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
    }

    /// <summary>SIGKILL: the process gets no chance to clean up.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM and a graceful stop (running jobs are stopped and re-queued); SIGKILL after 20 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
        Client.Dispose();
        // A build canceled while other jobs ran leaves layers the janitor removes only after Build:TimeoutSeconds;
        // this server never starts again, so its own dangling layers go now (job image tags are left for the suite's check).
        if (File.Exists(Path.Combine(DataRoot, Berth.Server.Configuration.InstanceIdentity.FileName)))
        {
            using var docker = new Docker(_engine);
            await docker.RemoveDanglingLayersAsync(Docker.InstanceOf(DataRoot));
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>src/Berth.Server/bin/&lt;Configuration&gt;/net10.0/Berth.Server.dll, built with this test project.</summary>
    private static string ServerDll() => RepoPaths.Built("Berth.Server");
}
