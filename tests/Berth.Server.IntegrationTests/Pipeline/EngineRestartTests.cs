using System.Diagnostics;
using System.Net;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Pipeline;

/// <summary>
/// dockerd restarts under a running job. This test stops the running dockerd and starts it again
/// with its own command line (./test.sh starts a dedicated one), so run it only where that is fine.
/// </summary>
[Collection(BerthCollection.Name)]
public sealed class EngineRestartTests(BerthFixture fixture)
{
    [Fact]
    public async Task DockerdRestartsUnderARunningJob_TheJobFailsWithAReasonAndTheServiceRecovers()
    {
        var running = await fixture.Api.SubmitAsync(Busybox("sleep 60"));
        await fixture.Api.WaitAsync(running.Id, j => j.Stages.Any(s => s.Name == "run" && s.Status == StageStatus.Running));
        await fixture.Docker.WaitForJobContainerAsync(running.Id);

        await RestartDockerdAsync();

        var job = await fixture.Api.WaitTerminalAsync(running.Id, 120);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.EngineError, job.Failure?.Reason);
        Assert.False(string.IsNullOrWhiteSpace(job.Failure?.Message));

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            using var ready = await fixture.Api.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
            if (ready.StatusCode == HttpStatusCode.OK)
            {
                break;
            }
            await Task.Delay(200);
        }
        var after = await fixture.Api.RunAsync(Busybox("echo '{\"perf\": 5}' > /data/perf.json"));
        Assert.Equal(JobStatus.Succeeded, after.Status);
        // The job's clean-up could not reach the engine while it was down: the janitor removes the container.
        var sweep = Stopwatch.StartNew();
        while ((await fixture.Docker.JobContainersAsync(running.Id)).Count > 0 && sweep.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(250);
        }
        Assert.Empty(await fixture.Docker.JobContainersAsync(running.Id));
    }

    private static async Task RestartDockerdAsync()
    {
        var pid = Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var p) ? p : 0)
            .Where(p => p > 0)
            .FirstOrDefault(p => File.Exists($"/proc/{p}/comm") && File.ReadAllText($"/proc/{p}/comm").Trim() == "dockerd");
        Assert.True(pid > 0, "no dockerd process to restart");
        var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);

        using (var term = Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }
        var clock = Stopwatch.StartNew();
        while (Directory.Exists($"/proc/{pid}") && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100);
        }
        var start = new ProcessStartInfo("nohup") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var part in commandLine)
        {
            start.ArgumentList.Add(part);
        }
        var dockerd = Process.Start(start)!;
        dockerd.OutputDataReceived += (_, _) => { };
        dockerd.ErrorDataReceived += (_, _) => { };
        dockerd.BeginOutputReadLine();
        dockerd.BeginErrorReadLine();
        using var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint("/var/run/docker.sock"), ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        });
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            try
            {
                using var ping = await http.GetAsync(new Uri("http://docker/_ping"));
                if (ping.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        Assert.Fail("dockerd did not come back");
    }
}
