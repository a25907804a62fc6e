using Berth.Server.Agent;
using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Server.Tests.Agent;

/// <summary>One lease, claimed from <see cref="FakeFleetServer"/>, with no runner: what reaches <see cref="ActiveJobs"/>, and when.</summary>
public sealed class AgentLeaseTests : IAsyncLifetime, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-lease-").FullName;
    private readonly ActiveJobs _active = new();
    private readonly TaskCompletionSource<AgentLease> _abandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private FakeFleetServer _api = null!;
    private FleetClient _client = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeFleetServer.StartAsync();
        _client = new FleetClient(new AgentSettings([_api.Url], FakeFleetServer.AgentToken, 1, AgentSettings.DefaultEngine, _root, "lease-test"),
            TimeProvider.System, NullLogger<FleetClient>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task HandOver_NoWorkerRunsTheJob_AbandonsTheLeaseAndLeavesNoCancelBehind()
    {
        var (job, lease) = await ClaimAsync();
        await using var _ = lease;
        lease.HandOver();

        Assert.Same(lease, await _abandoned.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        lease.Lose("a write was answered 409 after the worker was gone");

        using var later = _active.Register(job.Id); // a later claim of the same job here
        Assert.False(later.IsCancellationRequested);
    }

    [Fact]
    public async Task Lose_BeforeHandOver_LeavesNoCancelBehind()
    {
        var (job, lease) = await ClaimAsync();
        await using var _ = lease;

        lease.Lose("the context download was answered 409");

        Assert.True(lease.IsLost);
        using var later = _active.Register(job.Id);
        Assert.False(later.IsCancellationRequested);
    }

    [Fact]
    public async Task Heartbeat_CancelBetweenHandOverAndRegistration_ReachesTheWorker()
    {
        var (job, lease) = await ClaimAsync();
        await using var _ = lease;
        lease.HandOver();

        _api.RequestCancel(job);
        var beats = job.Heartbeats.Count;
        await FakeFleetServer.WaitUntilAsync(() => job.Heartbeats.Count > beats, "a heartbeat carried the cancel");
        using var worker = _active.Register(job.Id);

        await FakeFleetServer.WaitUntilAsync(() => worker.IsCancellationRequested, "the worker's job is canceled", seconds: 5);
        Assert.False(_abandoned.Task.IsCompleted);
    }

    [Fact]
    public async Task Heartbeat_Answered409_LosesTheLeaseAndCancelsTheWorkersJob()
    {
        var (job, lease) = await ClaimAsync();
        await using var _ = lease;
        lease.HandOver();
        using var worker = _active.Register(job.Id);

        _api.GiveToAnotherAgent(job);

        await FakeFleetServer.WaitUntilAsync(() => worker.IsCancellationRequested, "the worker's job is canceled");
        Assert.True(lease.IsLost);
        Assert.False(await lease.ReleaseAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(0, job.Releases); // nothing is sent once the lease is lost
    }

    private async Task<(FakeJob Job, AgentLease Lease)> ClaimAsync()
    {
        var job = await _api.EnqueueAsync();
        var sentAt = TimeProvider.System.GetUtcNow();
        var claim = (await _client.ClaimAsync(new ClaimRequest("lease-test", 1), CancellationToken.None)).Value!;
        var lease = new AgentLease(claim, sentAt, JobPaths.For(_root, claim.Job.Id), _client, _active, TimeProvider.System, NullLogger.Instance,
            abandoned =>
            {
                _abandoned.TrySetResult(abandoned);
                return Task.CompletedTask;
            });
        lease.Start();
        return (job, lease);
    }
}
