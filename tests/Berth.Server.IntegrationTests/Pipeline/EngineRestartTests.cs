using System.Diagnostics;
using System.Net;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Pipeline;

/// <summary>
/// dockerd restarts under a running job. The test starts a dockerd of its own (<see cref="OwnEngine"/>) and a Berth server
/// on it, and restarts only that dockerd: no other engine on the machine is stopped.
/// </summary>
[Collection(OwnEngineCollection.Name)]
public sealed class EngineRestartTests
{
    [Fact]
    public async Task DockerdRestartsUnderARunningJob_TheJobFailsWithAReasonAndTheServiceRecovers()
    {
        await using var engine = await OwnEngine.StartAsync("busybox:latest");
        var dataRoot = engine.CreateDirectory("berth");
        var server = await BerthProcess.StartAsync(dataRoot, Settings(engine));
        try
        {
            var api = new BerthApi(server.Client);
            var running = await api.SubmitAsync(Busybox("sleep 60"));
            await api.WaitAsync(running.Id, j => j.Stages.Any(s => s.Name == "run" && s.Status == StageStatus.Running));
            await engine.Docker.WaitForJobContainerAsync(running.Id);

            await engine.RestartAsync();

            var job = await api.WaitTerminalAsync(running.Id, 120);
            Assert.Equal(JobStatus.Failed, job.Status);
            Assert.Equal(FailureReasons.EngineError, job.Failure?.Reason);
            Assert.False(string.IsNullOrWhiteSpace(job.Failure?.Message));

            var clock = Stopwatch.StartNew();
            var readiness = HttpStatusCode.ServiceUnavailable;
            while (readiness != HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
                using var ready = await api.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
                readiness = ready.StatusCode;
            }
            Assert.Equal(HttpStatusCode.OK, readiness);
            var after = await api.RunAsync(Busybox("echo '{\"perf\": 5}' > /data/perf.json"));
            Assert.Equal(JobStatus.Succeeded, after.Status);
            // The job's clean-up could not reach the engine while it was down: the janitor removes the container.
            var sweep = Stopwatch.StartNew();
            while ((await engine.Docker.JobContainersAsync(running.Id)).Count > 0 && sweep.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(250);
            }
            Assert.Empty(await engine.Docker.JobContainersAsync(running.Id));
        }
        finally
        {
            await server.DisposeAsync();
        }

        // The suite's final check looks at the main engine only: what this server left on its own engine is checked here.
        Assert.Empty(await engine.Docker.AllJobContainersAsync());
        Assert.Empty(await engine.Docker.AllJobImagesAsync());
        Assert.Empty(OwnEngine.MountsUnder(dataRoot));
    }

    /// <summary>The shared servers' settings, on this engine, with the one base image it has.</summary>
    private static Dictionary<string, string> Settings(OwnEngine engine)
    {
        var settings = BerthFixture.Settings
            .Where(s => !s.Key.StartsWith("Build:AllowedImages:", StringComparison.Ordinal))
            .ToDictionary(s => s.Key, s => s.Value);
        settings["Build:AllowedImages:0"] = "busybox:latest";
        settings["Berth:DockerEndpoint"] = engine.Endpoint.ToString();
        return settings;
    }
}
