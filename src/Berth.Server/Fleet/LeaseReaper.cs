using Berth.Server.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Fleet;

/// <summary>
/// Every API server looks for leases that ran out (by the database clock) every <c>Fleet:ExpiryIntervalSeconds</c>:
/// their jobs are queued again, or fail as <c>worker_lost</c> after <c>Fleet:MaxAttempts</c>. Several servers doing
/// it at once is harmless: each expired lease is ended by exactly one of them (row locks).
/// </summary>
public sealed class LeaseReaper(IFleetStore fleet, IOptions<FleetOptions> options, TimeProvider time, ILogger<LeaseReaper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var fleetOptions = options.Value;
        var interval = TimeSpan.FromSeconds(fleetOptions.ExpiryIntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.LeaseSweepFailed(logger, fleetOptions.ExpiryIntervalSeconds, e);
            }
            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        var fleetOptions = options.Value;
        foreach (var expired in await fleet.ExpireLeasesAsync(fleetOptions.MaxAttempts, TimeSpan.FromSeconds(fleetOptions.ReconnectGraceSeconds), cancellationToken))
        {
            Log.LeaseExpired(logger, expired.JobId, expired.Agent,
                expired.Requeued ? "queued again for another attempt" : $"failed as worker_lost after {fleetOptions.MaxAttempts} attempts");
        }
    }
}
