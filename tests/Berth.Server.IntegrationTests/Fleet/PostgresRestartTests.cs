using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Fleet.Infrastructure;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Xunit.Abstractions;

namespace Berth.Server.IntegrationTests.Fleet;

/// <summary>
/// PostgreSQL goes away while agents run jobs, for longer than a lease: the API says so (503) instead of failing or
/// hanging, and once the database is back the reconnect grace keeps every lease, so every job ends once, on its first
/// attempt.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class PostgresRestartTests(ITestOutputHelper output)
{
    private const int LeaseSeconds = 6;
    private const int GraceSeconds = 60;
    private const int ExpiryIntervalSeconds = 1;

    /// <summary>Longer than two leases (without the grace they would all have run out), well within the grace.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(15);

    /// <summary>The longest any request may take while the database is down: an answer, not a hang.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    private static readonly FleetLabOptions Lab = new()
    {
        Servers = 2,
        Agents = 2,
        WorkersPerAgent = 2,
        ServerSettings = new Dictionary<string, string>
        {
            ["Fleet:LeaseSeconds"] = LeaseSeconds.ToString(CultureInfo.InvariantCulture),
            ["Fleet:ReconnectGraceSeconds"] = GraceSeconds.ToString(CultureInfo.InvariantCulture),
            ["Fleet:ExpiryIntervalSeconds"] = ExpiryIntervalSeconds.ToString(CultureInfo.InvariantCulture),
        },
    };

    [Fact]
    public Task StopAndStart_WhileJobsRun_ApiAnswers503ThenEveryJobSucceedsOnceOnItsFirstAttempt() =>
        FleetLab.RunAsync(Lab, async lab =>
        {
            var clock = Stopwatch.StartNew();
            var slots = Lab.Agents * Lab.WorkersPerAgent;
            // Four run through the outage (their 20 s sleep spans it), two wait in the queue, two come after it.
            var jobs = new List<(string Id, int Index)>();
            for (var i = 0; i < slots + 2; i++)
            {
                jobs.Add(((await Alice(lab, i).SubmitAsync(Script(i))).Id, i));
            }
            await WaitUntilAsync(async () => (await RunningAsync(lab, jobs)).Count == slots, TimeSpan.FromMinutes(4), $"{slots} jobs running");
            var running = await RunningAsync(lab, jobs);
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F0} s: {running.Count} jobs running ({string.Join(", ", running)}), stopping PostgreSQL");

            var down = Stopwatch.StartNew();
            await lab.Postgres.StopAsync();
            var probes = 0;
            while (down.Elapsed < Outage)
            {
                foreach (var server in lab.Servers)
                {
                    await AssertUnavailableAsync(() => lab.Client(server, "alice").GetAsync(new Uri($"/api/v1/jobs/{running[0]}", UriKind.Relative)));
                    await AssertUnavailableAsync(() => lab.Client(server, "alice").PostAsJsonAsync("/api/v1/jobs", new { dockerfile = Script(99) }, JobJson.Options));
                    probes += 2;
                }
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            await lab.Postgres.StartServerAsync();
            var outage = down.Elapsed;
            var restarted = Stopwatch.StartNew();
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F0} s: PostgreSQL was down {outage.TotalSeconds:F1} s ({probes} requests answered 503)");
            Assert.True(outage > TimeSpan.FromSeconds(2 * LeaseSeconds), $"the outage ({outage}) must outlast the leases for the grace to matter");

            for (var i = slots + 2; i < slots + 4; i++)
            {
                jobs.Add(((await Alice(lab, i).SubmitAsync(Script(i))).Id, i));
            }

            // Watch every job until all are terminal and the grace is over (a lease the grace only postponed would expire
            // by then): once seen terminal, a job must stay exactly as it was.
            var ended = new Dictionary<string, JobView>(StringComparer.Ordinal);
            var watchUntil = TimeSpan.FromSeconds(GraceSeconds + 5 * ExpiryIntervalSeconds);
            await WaitUntilAsync(async () =>
            {
                foreach (var (id, index) in jobs)
                {
                    var job = await Alice(lab, index + 1).GetAsync(id);
                    if (ended.TryGetValue(id, out var first))
                    {
                        Assert.True(job.Status == first.Status && job.FinishedAt == first.FinishedAt && job.Attempts == first.Attempts,
                            $"job {id} ended {first.Status} at {first.FinishedAt:O} (attempt {first.Attempts}) and is now {job.Status} (attempt {job.Attempts})");
                    }
                    else if (job.Status.IsTerminal())
                    {
                        ended[id] = job;
                    }
                }
                return ended.Count == jobs.Count && restarted.Elapsed > watchUntil;
            }, TimeSpan.FromMinutes(5), "every job terminal and the grace over");
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F0} s: all {jobs.Count} jobs ended; " +
                string.Join(", ", ended.Values.Select(j => $"{j.Id[..8]} {j.Status} on {j.Agent} attempt {j.Attempts}")));

            foreach (var (id, index) in jobs)
            {
                var job = ended[id];
                Assert.True(job.Status == JobStatus.Succeeded, $"job {id} (#{index}) ended {job.Status}: {job.Failure?.Reason} {job.Failure?.Message}");
                Assert.True(job.Attempts == 1, $"job {id} (#{index}) took {job.Attempts} attempts: its lease was taken from agent {job.Agent}'s first attempt");
                Assert.Equal(1.0, job.Performance);
                Assert.Contains(job.Agent, lab.Agents.Select(a => a.Name));
                var logs = await Alice(lab, index).LogsAsync(id);
                Assert.Equal(1, Count(logs, $"job-{index}-began-{index * 7}"));
                Assert.Equal(1, Count(logs, $"job-{index}-ended-{index * 7}"));
            }
            foreach (var server in lab.Servers)
            {
                var listed = (await JobListing.ListAllAsync(lab.Client(server, "alice"))).Select(j => j.Id).ToList();
                Assert.Equal(jobs.Select(j => j.Id).Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
            }
        });

    /// <summary>Sleeps 20 s between two lines computed at run time (so the Dockerfile in the build log does not contain them).</summary>
    private static string Script(int index) =>
        BerthApi.Busybox($"echo job-{index}-began-$(({index}*7)); sleep 20; echo job-{index}-ended-$(({index}*7)); echo '{{\"perf\": 1}}' > /data/perf.json");

    /// <summary>Alice's API on the servers in turn.</summary>
    private static BerthApi Alice(FleetLab lab, int turn) => lab.Api(lab.Servers[turn % lab.Servers.Count], "alice");

    private static async Task<List<string>> RunningAsync(FleetLab lab, List<(string Id, int Index)> jobs)
    {
        var running = new List<string>();
        foreach (var (id, _) in jobs)
        {
            var job = await Alice(lab, 0).GetAsync(id);
            Assert.False(job.Status.IsTerminal(), $"job {id} ended {job.Status} before the outage: {job.Failure?.Message}");
            if (job.Status == JobStatus.Running)
            {
                running.Add(id);
            }
        }
        return running;
    }

    /// <summary>A 503 ProblemDetails with Retry-After, promptly.</summary>
    private static async Task AssertUnavailableAsync(Func<Task<HttpResponseMessage>> send)
    {
        var clock = Stopwatch.StartNew();
        using var response = await send();
        Assert.True(clock.Elapsed < Prompt, $"the answer took {clock.Elapsed.TotalSeconds:F1} s");
        var problem = await BerthApi.ProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Store unavailable", problem.GetProperty("title").GetString());
        Assert.True(response.Headers.RetryAfter?.Delta is { } after && after > TimeSpan.Zero, $"Retry-After: {response.Headers.RetryAfter}");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, $"not within {timeout.TotalSeconds:F0} s: {what}");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    private static int Count(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
