using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Fleet.Infrastructure;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Xunit.Abstractions;

namespace Berth.Server.IntegrationTests.Fleet;

/// <summary>
/// Many jobs through the lab's default fleet (two API servers, three agents with two workers each), submitted to both
/// servers by two owners at once; and the submission rate limit, which the servers share.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetScaleTests(ITestOutputHelper output)
{
    private const int JobsPerOwner = 100;
    private const int SubmitsPerMinute = 30;

    private static readonly string[] Owners = ["alice", "bob"];

    /// <summary>The same Dockerfile every time: each agent builds it once and reuses the image (the job cache).</summary>
    private static readonly string Trivial = BerthApi.Busybox("echo '{\"perf\": 1}' > /data/perf.json");

    [Fact]
    public Task Submit_TwoHundredJobsByTwoOwnersOnBothServers_EachEndsOnceSucceededAndEachOwnerSeesOnlyTheirOwn() =>
        FleetLab.RunAsync(new FleetLabOptions
        {
            ServerSettings = new Dictionary<string, string> { ["Auth:SubmitsPerMinute"] = "100000" },
        }, async lab =>
        {
            Assert.Equal((2, 3), (lab.Servers.Count, lab.Agents.Count));
            var clock = Stopwatch.StartNew();
            // Each owner submits in turn to server 1 and server 2; the two owners at the same time.
            var submitted = await Task.WhenAll(Owners.Select(async owner =>
            {
                var ids = new List<string>();
                for (var i = 0; i < JobsPerOwner; i++)
                {
                    ids.Add((await lab.Api(lab.Servers[i % 2], owner).SubmitAsync(Trivial)).Id);
                }
                return (Owner: owner, Ids: ids);
            }));
            output.WriteLine($"{Owners.Length * JobsPerOwner} jobs submitted in {clock.Elapsed.TotalSeconds:F1} s");

            var all = submitted.SelectMany(s => s.Ids).ToList();
            Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
            var ended = await WaitAllTerminalAsync(lab, submitted, TimeSpan.FromMinutes(5));
            output.WriteLine($"all ended {clock.Elapsed.TotalSeconds:F1} s after the first submission; per agent: " +
                string.Join(", ", ended.Values.GroupBy(j => j.Agent).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}")));

            foreach (var (owner, ids) in submitted)
            {
                foreach (var id in ids)
                {
                    var job = ended[id];
                    Assert.True(job.Status == JobStatus.Succeeded, $"job {id} of {owner} ended {job.Status}: {job.Failure?.Reason} {job.Failure?.Message}");
                    Assert.True(job.Attempts == 1, $"job {id} of {owner} took {job.Attempts} attempts (last on {job.Agent}) though no agent died");
                    Assert.Equal(owner, job.Owner);
                    Assert.Equal(1.0, job.Performance);
                }
                // Isolation: on either server, an owner lists exactly their own jobs, each once.
                foreach (var server in lab.Servers)
                {
                    var listed = await JobListing.ListAllAsync(lab.Client(server, owner));
                    Assert.Equal(ids.Order(StringComparer.Ordinal), listed.Select(j => j.Id).Order(StringComparer.Ordinal));
                    Assert.All(listed, j => Assert.Equal(JobStatus.Succeeded, j.Status));
                }
            }
            // The union of both owners' listings holds every job once; the admin sees the same set.
            var union = new List<string>();
            foreach (var owner in Owners)
            {
                union.AddRange((await JobListing.ListAllAsync(lab.Client(lab.Servers[0], owner))).Select(j => j.Id));
            }
            Assert.Equal(all.Order(StringComparer.Ordinal), union.Order(StringComparer.Ordinal));
            Assert.Equal(all.Order(StringComparer.Ordinal),
                (await JobListing.ListAllAsync(lab.Client(lab.Servers[1], FleetLab.Admin))).Select(j => j.Id).Order(StringComparer.Ordinal));

            var agents = ended.Values.Select(j => j.Agent).Distinct().ToList();
            Assert.All(agents, a => Assert.Contains(a, lab.Agents.Select(x => x.Name)));
            Assert.True(agents.Count > 1, $"every job ran on {string.Join(", ", agents)}");
        });

    [Fact]
    public Task Submit_OneOwnerAlternatingServers_SharesOneRateLimitAndAnotherOwnerIsUnaffected() =>
        FleetLab.RunAsync(new FleetLabOptions
        {
            Agents = 0, // the accepted jobs stay queued: only the submissions matter here
            ServerSettings = new Dictionary<string, string> { ["Auth:SubmitsPerMinute"] = SubmitsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        }, async lab =>
        {
            // Submissions are counted per calendar minute (the database's clock, this machine's too): the whole burst
            // falls into one minute, started early in it.
            await StartOfAMinuteAsync();
            var minute = MinuteNow();
            var burst = Stopwatch.StartNew();
            var answers = new List<(int Server, HttpStatusCode Status, TimeSpan? RetryAfter)>();
            for (var i = 0; i < 2 * SubmitsPerMinute + 10; i++)
            {
                var server = i % 2;
                using var response = await lab.Client(lab.Servers[server], "alice").PostAsJsonAsync("/api/v1/jobs", new { dockerfile = Trivial }, JobJson.Options);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    var problem = await BerthApi.ProblemAsync(response, HttpStatusCode.TooManyRequests);
                    Assert.True(problem.TryGetProperty("title", out _));
                }
                else
                {
                    await BerthApi.AcceptedAsync(response);
                }
                answers.Add((server, response.StatusCode, response.Headers.RetryAfter?.Delta));
            }
            // Another owner, on both servers, in the same minute: unaffected.
            foreach (var server in lab.Servers)
            {
                await lab.Api(server, "bob").SubmitAsync(Trivial);
            }
            Assert.True(MinuteNow() == minute, $"the burst ({burst.Elapsed.TotalSeconds:F1} s) spilled into the next minute; the count is per minute");

            var accepted = answers.Where(a => a.Status == HttpStatusCode.Accepted).ToList();
            var limited = answers.Where(a => a.Status == HttpStatusCode.TooManyRequests).ToList();
            output.WriteLine($"{answers.Count + 2} submissions in {burst.Elapsed.TotalSeconds:F1} s; alice: {accepted.Count} accepted (server 1: {accepted.Count(a => a.Server == 0)}, server 2: {accepted.Count(a => a.Server == 1)}), {limited.Count} answered 429");
            Assert.Equal(answers.Count, accepted.Count + limited.Count);
            Assert.Equal(SubmitsPerMinute, accepted.Count);
            // The first N were accepted, whichever server took them; every later one was refused, on both servers.
            Assert.All(answers.Take(SubmitsPerMinute), a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
            Assert.All(answers.Skip(SubmitsPerMinute), a => Assert.Equal(HttpStatusCode.TooManyRequests, a.Status));
            Assert.Equal(new[] { 0, 1 }, limited.Select(a => a.Server).Distinct().Order());
            Assert.All(limited, a => Assert.True(a.RetryAfter is { } after && after > TimeSpan.Zero && after <= TimeSpan.FromSeconds(60), $"Retry-After {a.RetryAfter}"));

            Assert.Equal(SubmitsPerMinute, (await JobListing.ListAllAsync(lab.Client(lab.Servers[1], "alice"))).Count);
            Assert.Equal(lab.Servers.Count, (await JobListing.ListAllAsync(lab.Client(lab.Servers[0], "bob"))).Count);
        });

    private static async Task<Dictionary<string, JobView>> WaitAllTerminalAsync(FleetLab lab, IEnumerable<(string Owner, List<string> Ids)> submitted, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var ended = new Dictionary<string, JobView>(StringComparer.Ordinal);
        var expected = submitted.ToList();
        while (true)
        {
            foreach (var (owner, ids) in expected)
            {
                var listed = await JobListing.ListAllAsync(lab.Client(lab.Servers[ended.Count % 2], owner));
                foreach (var job in listed.Where(j => j.Status.IsTerminal()))
                {
                    // Once terminal, a job stays exactly as it ended.
                    if (ended.TryGetValue(job.Id, out var first))
                    {
                        Assert.True(job.Status == first.Status && job.FinishedAt == first.FinishedAt && job.Attempts == first.Attempts,
                            $"job {job.Id} ended {first.Status} at {first.FinishedAt:O} and is now {job.Status} (attempt {job.Attempts})");
                    }
                    ended[job.Id] = job;
                }
                foreach (var id in ids.Where(ended.ContainsKey))
                {
                    Assert.Contains(listed, j => j.Id == id && j.Status.IsTerminal()); // never back to queued or running
                }
            }
            if (ended.Count == expected.Sum(e => e.Ids.Count))
            {
                return ended;
            }
            Assert.True(clock.Elapsed < timeout,
                $"{ended.Count} of {expected.Sum(e => e.Ids.Count)} jobs ended within {timeout.TotalMinutes:F0} min");
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }

    private static DateTimeOffset MinuteNow()
    {
        var now = TimeProvider.System.GetUtcNow();
        return now - TimeSpan.FromTicks(now.Ticks % TimeSpan.TicksPerMinute);
    }

    /// <summary>Returns in the first seconds of a minute (waits for the next one unless it is early in this one).</summary>
    private static async Task StartOfAMinuteAsync()
    {
        var second = TimeProvider.System.GetUtcNow().Second;
        if (second is >= 1 and <= 30)
        {
            return;
        }
        await Task.Delay(TimeSpan.FromSeconds(second == 0 ? 1 : 61 - second));
    }
}
