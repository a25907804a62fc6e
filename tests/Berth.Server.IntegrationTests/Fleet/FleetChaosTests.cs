using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Berth.Server.Fleet;
using Berth.Server.IntegrationTests.Fleet.Infrastructure;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;

namespace Berth.Server.IntegrationTests.Fleet;

/// <summary>
/// The fleet when its parts fail: an agent killed or cut off mid-run, many agents racing for one job, an API server
/// killed. Each runs on a lab of its own: PostgreSQL, API servers in one network namespace, agents each in their own
/// with their own dockerd.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetChaosTests
{
    /// <summary>Short leases that expire quickly, with no grace after the lab's (fresh) PostgreSQL start.</summary>
    private static Dictionary<string, string> ShortLeases(int seconds) => new()
    {
        ["Fleet:LeaseSeconds"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Fleet:ExpiryIntervalSeconds"] = "1",
        ["Fleet:ReconnectGraceSeconds"] = "0",
    };

    /// <summary>A job that prints one marker line, runs for <paramref name="seconds"/> and then reports its performance.</summary>
    private static string Slow(string marker, int seconds) =>
        BerthApi.Busybox($"echo {marker}; sleep {seconds}; echo '{{\"perf\": 0.5}}' > /data/perf.json");

    [Fact]
    public Task AgentKilledMidRun_JobRunsAgainOnTheOtherAgentEndsOnceAndTheRestartedAgentLeavesNothing() =>
        FleetLab.RunAsync(new FleetLabOptions { Servers = 2, Agents = 2, WorkersPerAgent = 1, ServerSettings = ShortLeases(6) }, async lab =>
        {
            var api = lab.Api(lab.Servers[0], "alice");
            var job = await api.SubmitAsync(Slow("chaos-kill-marker", 8));
            var first = await lab.WaitForJobContainerAsync(job.Id);

            await lab.KillAgentAsync(first); // the agent and every process of its engine, SIGKILL

            var done = await lab.Api(lab.Servers[1], "alice").WaitTerminalAsync(job.Id, 240);
            var second = lab.Agents.Single(a => a != first);
            Assert.Equal(JobStatus.Succeeded, done.Status);
            Assert.Equal(2, done.Attempts);
            Assert.Equal(second.Name, done.Agent);
            // The lost attempt's run log was dropped when the job was queued again: the marker printed once.
            var runLog = (await api.LogsAsync(job.Id)).Split("==> run log <==")[1];
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(runLog, "chaos-kill-marker"));

            await lab.RestartAgentAsync(first);
            Assert.True(await BerthApi.EventuallyAsync(() => first.LeftoversAsync().GetAwaiter().GetResult().Count == 0, 60),
                $"the restarted agent left: {string.Join(", ", await first.LeftoversAsync())}");
            var after = await api.GetAsync(job.Id);
            Assert.Equal(done.FinishedAt, after.FinishedAt); // nothing wrote the job again
            Assert.Equal(second.Name, after.Agent);
        });

    [Fact]
    public Task AgentCutOffPastTheLease_ItsContainerIsKilledTheJobRunsElsewhereAndItsLateWritesChangeNothing() =>
        FleetLab.RunAsync(new FleetLabOptions { Servers = 1, Agents = 2, WorkersPerAgent = 1, ServerSettings = ShortLeases(6) }, async lab =>
        {
            var api = lab.Api(lab.Servers[0], "alice");
            var job = await api.SubmitAsync(Slow("chaos-partition-marker", 25));
            var cut = await lab.WaitForJobContainerAsync(job.Id);

            await lab.PartitionAsync(cut);
            // Past its lease with no heartbeat through, the cut-off agent stops the job itself.
            Assert.True(await BerthApi.EventuallyAsync(() => cut.Engine.Docker.JobContainersAsync(job.Id).GetAwaiter().GetResult().Count == 0, 60),
                "the cut-off agent's container still exists past the lease");
            var other = lab.Agents.Single(a => a != cut);
            await lab.Api(lab.Servers[0], "alice").WaitAsync(job.Id, j => j.Attempts == 2 && j.Agent == other.Name, 60);

            await lab.HealAsync(cut);
            var done = await api.WaitTerminalAsync(job.Id, 240);
            Assert.Equal(JobStatus.Succeeded, done.Status);
            Assert.Equal(other.Name, done.Agent);
            Assert.Equal(2, done.Attempts);
            await Task.Delay(TimeSpan.FromSeconds(8)); // the healed agent's late writes, if any, come now and get 409
            var after = await api.GetAsync(job.Id);
            Assert.Equal(done.FinishedAt, after.FinishedAt);
            Assert.Equal(other.Name, after.Agent);
            Assert.Empty(await cut.Engine.Docker.JobContainersAsync(job.Id));
        });

    [Fact]
    public Task AgentCutOffForLessThanTheLease_NothingChanges() =>
        FleetLab.RunAsync(new FleetLabOptions { Servers = 1, Agents = 2, WorkersPerAgent = 1, ServerSettings = ShortLeases(15) }, async lab =>
        {
            var api = lab.Api(lab.Servers[0], "alice");
            var job = await api.SubmitAsync(Slow("chaos-short-partition", 10));
            var agent = await lab.WaitForJobContainerAsync(job.Id);

            await lab.PartitionAsync(agent);
            await Task.Delay(TimeSpan.FromSeconds(4));
            await lab.HealAsync(agent);

            var done = await api.WaitTerminalAsync(job.Id, 180);
            Assert.Equal(JobStatus.Succeeded, done.Status);
            Assert.Equal(1, done.Attempts);
            Assert.Equal(agent.Name, done.Agent);
        });

    [Fact]
    public Task ManyAgentsPolling_OneJob_ExactlyOneClaim() =>
        FleetLab.RunAsync(new FleetLabOptions { Servers = 2, Agents = 3, StartAgents = false }, async lab =>
        {
            // 24 long polls, spread over both servers and every agent's token, wait for work that is not there yet.
            var polls = Enumerable.Range(0, 24).Select(i =>
            {
                var server = lab.Servers[i % lab.Servers.Count];
                var agent = lab.Agents[i % lab.Agents.Count];
                return ClaimAsync(server.Url, agent.Token, $"poller-{i}", waitSeconds: 20);
            }).ToList();
            await Task.Delay(TimeSpan.FromSeconds(2));

            var job = await lab.Api(lab.Servers[0], "alice").SubmitAsync(BerthApi.Busybox("true"));
            var answers = await Task.WhenAll(polls);

            var claims = answers.OfType<ClaimResponse>().ToList();
            var claim = Assert.Single(claims);
            Assert.Equal(job.Id, claim.Job.Id);
            Assert.Equal(1, claim.Job.Attempts);
            var view = await lab.Api(lab.Servers[1], "alice").GetAsync(job.Id);
            Assert.Equal(claim.Job.Agent, view.Agent);
            Assert.Equal(JobStatus.Linting, view.Status);

            // An agent token opens no user route, and an API key (even the admin's) no agent route.
            using var asAgent = new HttpClient { BaseAddress = lab.Servers[0].Url };
            asAgent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", lab.Agents[0].Token);
            using var jobsAsAgent = await asAgent.GetAsync(new Uri($"/api/v1/jobs/{job.Id}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, jobsAsAgent.StatusCode);
            using var claimAsAdmin = await lab.Client(lab.Servers[0]).PostAsync(new Uri(AgentProtocol.Claim, UriKind.Relative),
                JsonContent.Create(new ClaimRequest("intruder", 0), options: JobJson.Options));
            Assert.Equal(HttpStatusCode.Unauthorized, claimAsAdmin.StatusCode);
            using var contextWithoutLease = await asAgent.GetAsync(new Uri(AgentProtocol.Context(job.Id), UriKind.Relative));
            Assert.Equal(HttpStatusCode.BadRequest, contextWithoutLease.StatusCode);
            using var staleContext = new HttpRequestMessage(HttpMethod.Get, AgentProtocol.Context(job.Id));
            staleContext.Headers.Add(AgentProtocol.LeaseHeader, (claim.LeaseToken - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var stale = await asAgent.SendAsync(staleContext);
            Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        });

    [Fact]
    public Task ApiServerKilled_AgentsCarryOnWithTheOtherAndEveryJobCompletes() =>
        FleetLab.RunAsync(new FleetLabOptions { Servers = 2, Agents = 2, WorkersPerAgent = 2, ServerSettings = new Dictionary<string, string> { ["Fleet:LeaseSeconds"] = "10" } }, async lab =>
        {
            var survivor = lab.Api(lab.Servers[1], "alice");
            var jobs = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                jobs.Add((await survivor.SubmitAsync(Slow($"chaos-api-{i}", 6))).Id);
            }
            await lab.WaitForJobContainerAsync(jobs[0]);

            await lab.KillServerAsync(lab.Servers[0]);

            foreach (var id in jobs)
            {
                var done = await survivor.WaitTerminalAsync(id, 240);
                Assert.Equal(JobStatus.Succeeded, done.Status);
                Assert.Equal(1, done.Attempts); // failing over cost no attempt
            }
            await lab.RestartServerAsync(lab.Servers[0]);
            Assert.Equal(JobStatus.Succeeded, (await lab.Api(lab.Servers[0], "alice").GetAsync(jobs[^1])).Status);
        });

    /// <summary>One claim as an agent would send it: the job, or null when none came within the wait.</summary>
    private static async Task<ClaimResponse?> ClaimAsync(Uri server, string token, string name, int waitSeconds)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(waitSeconds + 30) };
        using var request = new HttpRequestMessage(HttpMethod.Post, AgentProtocol.Claim)
        {
            Content = JsonContent.Create(new ClaimRequest(name, waitSeconds), options: JobJson.Options),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NoContent, $"claim answered {response.StatusCode}");
        return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<ClaimResponse>(JobJson.Options) : null;
    }
}
