using System.Net;
using System.Net.Http.Json;
using Berth.Server.Dashboard;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Tests.Api;

namespace Berth.Server.Tests.Dashboard;

public sealed class LeaderboardTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static long _sequence;

    private static Job Succeeded(string? name, double? performance, int minute, JobStatus status = JobStatus.Succeeded)
    {
        var seq = Interlocked.Increment(ref _sequence);
        return new Job($"{seq:x32}", seq, name, status, new JobLimits(60, 256, 1), null, T0, T0, T0.AddMinutes(minute),
            performance, null, [], null, 0, [], 1);
    }

    [Fact]
    public void Build_SeveralNames_GroupedBestFirstWithHistoryOldestFirst()
    {
        var jobs = new[]
        {
            Succeeded("gamma", 15, 6), Succeeded("beta", 50, 5), Succeeded("alpha", 30, 4),
            Succeeded("gamma", 20, 3), Succeeded("alpha", 10, 2), Succeeded("gamma", 5, 1),
        }; // newest first, as the store lists them

        var board = Leaderboard.Build(jobs);

        Assert.Equal(["beta", "alpha", "gamma"], board.Items.Select(i => i.Name));
        var gamma = board.Items[2];
        Assert.Equal(20, gamma.Best.Performance);
        Assert.Equal(jobs[3].Id, gamma.Best.Id);
        Assert.Equal(3, gamma.Submissions);
        Assert.Equal([5.0, 20.0, 15.0], gamma.History.Select(h => h.Performance));
        Assert.Equal(T0.AddMinutes(3), gamma.Best.FinishedAt);
        Assert.Equal(6, board.Scanned);
    }

    [Fact]
    public void Build_JobsWithoutNameOrPerformanceOrNotSucceeded_LeftOutButScanned()
    {
        var jobs = new[]
        {
            Succeeded(null, 99, 1), Succeeded("  ", 98, 2), Succeeded("named", null, 3),
            Succeeded("failed", 97, 4, JobStatus.Failed), Succeeded("named", double.NaN, 5), Succeeded("named", 1, 6),
        };

        var board = Leaderboard.Build(jobs);

        var only = Assert.Single(board.Items);
        Assert.Equal("named", only.Name);
        Assert.Equal(1, only.Submissions);
        Assert.Equal(6, board.Scanned);
    }

    [Fact]
    public void Build_TieOnBestPerformance_EarliestSubmissionIsBestAndRanksFirst()
    {
        var late = Succeeded("late", 7, 9);
        var secondOfEarly = Succeeded("early", 7, 8);
        var firstOfEarly = Succeeded("early", 7, 2);

        var board = Leaderboard.Build([late, secondOfEarly, firstOfEarly]);

        Assert.Equal(["early", "late"], board.Items.Select(i => i.Name));
        Assert.Equal(firstOfEarly.Id, board.Items[0].Best.Id);
    }

    [Fact]
    public void Build_MoreSubmissionsThanHistoryCap_KeepsTheMostRecent()
    {
        var jobs = Enumerable.Range(1, Leaderboard.MaxHistory + 10).Reverse().Select(m => Succeeded("many", m, m)).ToList();

        var item = Assert.Single(Leaderboard.Build(jobs).Items);

        Assert.Equal(Leaderboard.MaxHistory + 10, item.Submissions);
        Assert.Equal(Leaderboard.MaxHistory, item.History.Count);
        Assert.Equal(11, item.History[0].Performance);
        Assert.Equal(Leaderboard.MaxHistory + 10, item.History[^1].Performance);
    }

    [Fact]
    public async Task Get_WithKeys_OwnersSeeTheirOwnJobsAdminSeesAllNoKeyIs401()
    {
        await using var server = new BerthApiFactory(TestKeys.Settings());
        using var alice = TestKeys.As(server, "alice-key");
        using var bob = TestKeys.As(server, "bob-key");
        using var ops = TestKeys.As(server, "ops-key");
        using var anonymous = TestKeys.As(server, null);
        var driver = new JobDriver(server);
        var aliceJob = await new BerthApi(alice).SubmitAsync("FROM busybox:latest\n", name: "shared-name");
        var bobJob = await new BerthApi(bob).SubmitAsync("FROM busybox:latest\n", name: "shared-name");
        await driver.SucceedAsync(aliceJob.Id, 1.5);
        await driver.SucceedAsync(bobJob.Id, 2.5);

        var forAlice = await alice.GetFromJsonAsync<Leaderboard>("/api/v1/leaderboard", JobJson.Options);
        var forBob = await bob.GetFromJsonAsync<Leaderboard>("/api/v1/leaderboard", JobJson.Options);
        var forOps = await ops.GetFromJsonAsync<Leaderboard>("/api/v1/leaderboard", JobJson.Options);
        using var refused = await anonymous.GetAsync(new Uri("/api/v1/leaderboard", UriKind.Relative));

        Assert.Equal(aliceJob.Id, Assert.Single(forAlice!.Items).Best.Id);
        Assert.Equal(1, forAlice.Scanned);
        Assert.Equal(bobJob.Id, Assert.Single(forBob!.Items).Best.Id);
        var both = Assert.Single(forOps!.Items);
        Assert.Equal((bobJob.Id, 2), (both.Best.Id, both.Submissions));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}
