using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Tests.Shared;

/// <summary>
/// A trivial job end to end, submit to succeeded, on an in-process SQLite Berth (one worker) and then on a fleet of one
/// API server (PostgreSQL) and one agent, both on this machine's Docker engine, the same jobs in the same run.
/// </summary>
internal static class EndToEnd
{
    private const string Dockerfile = "FROM busybox:latest\nCMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n";

    public static async Task<int> RunAsync(int runs)
    {
        var embedded = await TimeAsync("sqlite", runs, async root =>
        {
            var port = FreePort();
            return (Start(["--urls", $"http://127.0.0.1:{port}", $"--Berth:DataRoot={root}", "--Berth:Workers=1", "--Logging:LogLevel:Default=Warning"]), port, []);
        });
        await using var cluster = await PostgresCluster.StartAsync();
        var connection = await cluster.CreateDatabaseAsync();
        var fleet = await TimeAsync("fleet", runs, async root =>
        {
            var port = FreePort();
            var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
            var server = Start([
                "--urls", $"http://127.0.0.1:{port}", $"--Berth:DataRoot={Path.Combine(root, "api")}", "--Berth:Workers=0",
                "--Store:Provider=postgres", $"--Store:ConnectionString={connection}", "--Logging:LogLevel:Default=Warning",
                "--Agents:Tokens:0:Name=bench", $"--Agents:Tokens:0:Sha256={Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)))}"]);
            await Task.CompletedTask;
            var agent = Start(["agent", "--server", $"http://127.0.0.1:{port}", "--token", token, "--workers", "1",
                "--data-root", Path.Combine(root, "agent"), "--name", "bench-agent"]);
            return (server, port, [agent]);
        });
        Console.WriteLine($"trivial job, submit -> succeeded, median of {runs} (first run excluded): in-process SQLite {embedded * 1000:F0} ms, " +
            $"API + agent on PostgreSQL {fleet * 1000:F0} ms, ratio {fleet / embedded:F2} (goal <= 1.1)");
        return 0;
    }

    private static async Task<double> TimeAsync(string name, int runs, Func<string, Task<(Process Server, int Port, Process[] Others)>> start)
    {
        var root = Directory.CreateTempSubdirectory($"berth-e2e-{name}-").FullName;
        var (server, port, others) = await start(root);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(120) };
            await WaitReadyAsync(http);
            await Task.Delay(TimeSpan.FromSeconds(3)); // agents connect; spare /data filesystems are made
            var times = new List<double>();
            for (var i = 0; i <= runs; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await http.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), new StringContent(Dockerfile, Encoding.UTF8, "text/plain"));
                response.EnsureSuccessStatusCode();
                var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
                while (true)
                {
                    var job = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/api/v1/jobs/{id}", UriKind.Relative))).RootElement;
                    var status = job.GetProperty("status").GetString();
                    if (status is "succeeded")
                    {
                        break;
                    }
                    if (status is "failed" or "canceled")
                    {
                        throw new InvalidOperationException($"{name}: job {id} ended {status}: {job.GetProperty("failure")}");
                    }
                    await Task.Delay(5);
                }
                if (i > 0)
                {
                    times.Add(clock.Elapsed.TotalSeconds);
                }
            }
            times.Sort();
            return times[times.Count / 2];
        }
        finally
        {
            foreach (var process in others.Append(server))
            {
                process.Kill(); // SIGKILL: an agent's own cleanup is not timed; its data root is unmounted below
                await process.WaitForExitAsync();
            }
            foreach (var mount in File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(root, StringComparison.Ordinal)).OrderDescending())
            {
                using var umount = Process.Start("umount", ["-l", mount]);
                await umount.WaitForExitAsync();
            }
            using var rm = Process.Start("rm", ["-rf", "--one-file-system", root]);
            await rm.WaitForExitAsync();
        }
    }

    public static Process Start(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(RepoRoot(), "src/Berth.Server/bin/Release/net10.0/Berth.Server.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static async Task WaitReadyAsync(HttpClient http)
    {
        for (var i = 0; i < 240; i++)
        {
            try
            {
                using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(250);
        }
        throw new TimeoutException("the server did not become ready");
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Berth.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("run from inside the repository");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
