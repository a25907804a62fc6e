using Berth.Server.Agent;
using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Server.Tests.Agent;

/// <summary>The log shipper against <see cref="FakeFleetServer"/>, driven by hand (no lease loop).</summary>
public sealed class LogShipperTests : IAsyncLifetime, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-shipper-").FullName;
    private FakeFleetServer _api = null!;
    private FleetClient _client = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeFleetServer.StartAsync();
        _client = new FleetClient(new AgentSettings([_api.Url], FakeFleetServer.AgentToken, 1, AgentSettings.DefaultEngine, _root, "shipper-test"),
            TimeProvider.System, NullLogger<FleetClient>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task ShipAsync_NoLogFilesYet_SendsNothing()
    {
        var (job, shipper, _) = await ClaimAsync();

        Assert.Equal(ApiOutcome.Done, (await shipper.ShipAsync(CancellationToken.None)).Outcome);

        Assert.Empty(job.Appends);
    }

    [Fact]
    public async Task ShipAsync_ServerLogAtItsCap_StopsSendingThatLog()
    {
        _api.LogCapBytes = 10;
        var (job, shipper, paths) = await ClaimAsync();
        await File.WriteAllTextAsync(paths.RunLog, "0123456789 and more than the cap");

        Assert.Equal(ApiOutcome.Done, (await shipper.ShipAsync(CancellationToken.None)).Outcome);
        await File.AppendAllTextAsync(paths.RunLog, " and still more");
        Assert.Equal(ApiOutcome.Done, (await shipper.ShipAsync(CancellationToken.None)).Outcome);

        Assert.Equal("0123456789", job.LogText(JobLog.Run));
        Assert.Single(job.Appends);
        Assert.Equal(10, shipper.Shipped(JobLog.Run));
    }

    [Fact]
    public async Task ShipAsync_ServerHasLessThanItSaid_SendsTheLogFromTheStartAgain()
    {
        var (job, shipper, paths) = await ClaimAsync();
        await File.WriteAllTextAsync(paths.BuildLog, "step 1\n");
        await shipper.ShipAsync(CancellationToken.None);
        _api.TruncateLog(job, JobLog.Build);
        await File.AppendAllTextAsync(paths.BuildLog, "step 2\n");

        Assert.Equal(ApiOutcome.Done, (await shipper.ShipAsync(CancellationToken.None)).Outcome);

        Assert.Equal("step 1\nstep 2\n", job.LogText(JobLog.Build));
        Assert.Equal(1, job.Gaps);
        Assert.Equal([0L, 0L], job.Appends.Select(a => a.Offset)); // the chunk at 7 met the gap
    }

    [Fact]
    public async Task ShipAsync_LeaseStale_AnswersStaleAndKeepsItsPlace()
    {
        var (job, shipper, paths) = await ClaimAsync();
        await File.WriteAllTextAsync(paths.RunLog, "output\n");
        _api.GiveToAnotherAgent(job);

        Assert.Equal(ApiOutcome.Stale, (await shipper.ShipAsync(CancellationToken.None)).Outcome);

        Assert.Equal(0, shipper.Shipped(JobLog.Run));
        Assert.Empty(job.LogText(JobLog.Run));
    }

    private async Task<(FakeJob Job, LogShipper Shipper, JobPaths Paths)> ClaimAsync()
    {
        var job = await _api.EnqueueAsync();
        var claim = (await _client.ClaimAsync(new ClaimRequest("shipper-test", 1), CancellationToken.None)).Value!;
        var paths = JobPaths.For(_root, claim.Job.Id);
        Directory.CreateDirectory(paths.Directory);
        return (job, new LogShipper(_client, claim.Job.Id, claim.LeaseToken, paths, NullLogger.Instance), paths);
    }
}
