using Berth.Server.IntegrationTests.Fleet.Infrastructure;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;

namespace Berth.Server.IntegrationTests.Fleet;

/// <summary>Jobs through a real fleet: API servers on one PostgreSQL, agents with engines of their own.</summary>
[Collection(FleetCollection.Name)]
public sealed class FleetJobTests
{
    [Fact]
    public Task Job_SubmittedOnOneServer_RunsOnAnAgentAndEveryServerServesItsResultLogsAndReport() =>
        FleetLab.RunAsync(new FleetLabOptions { Servers = 2, Agents = 1, WorkersPerAgent = 1 }, async lab =>
        {
            var alice = lab.Api(lab.Servers[0], "alice");
            var submitted = await alice.SubmitAsync(BerthApi.Busybox("echo hello-from-the-fleet; echo '{\"perf\": 0.75}' > /data/perf.json"));

            var done = await lab.Api(lab.Servers[1], "alice").WaitTerminalAsync(submitted.Id, 180);

            Assert.Equal(JobStatus.Succeeded, done.Status);
            Assert.Equal(0.75, done.Performance);
            Assert.Equal(lab.Agents[0].Name, done.Agent);
            Assert.Equal(1, done.Attempts);
            Assert.All(done.Stages, s => Assert.NotEqual(StageStatus.Pending, s.Status));
            foreach (var server in lab.Servers)
            {
                var logs = await lab.Api(server, "alice").LogsAsync(submitted.Id);
                Assert.Contains("hello-from-the-fleet", logs, StringComparison.Ordinal);
                Assert.Contains("Step 1/", logs, StringComparison.Ordinal); // the build log came too
                using var report = await lab.Client(server, "alice").GetAsync(new Uri($"/api/v1/jobs/{submitted.Id}/report", UriKind.Relative));
                Assert.True(report.IsSuccessStatusCode);
                Assert.Contains("\"scan\":{", await report.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
            // Another owner does not see it on either server.
            using var bob = await lab.Client(lab.Servers[1], "bob").GetAsync(new Uri($"/api/v1/jobs/{submitted.Id}", UriKind.Relative));
            Assert.Equal(System.Net.HttpStatusCode.NotFound, bob.StatusCode);
        });
}
