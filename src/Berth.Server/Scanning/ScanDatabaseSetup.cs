using Berth.Scanner.Advisories;
using Berth.Server.Logging;

namespace Berth.Server.Scanning;

/// <summary>
/// At start-up, before any job runs: installs the bundled advisory snapshot where <c>Scan:Database</c> holds no
/// database (atomically, like an update). A failure is logged, not fatal: the scan stage and <c>/readyz</c> then
/// report the missing database.
/// </summary>
public sealed class ScanDatabaseSetup(AdvisoryDatabaseProvider databases, TimeProvider time, ILogger<ScanDatabaseSetup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await BundledDatabase.InstallIfMissingAsync(databases.Folder, time, cancellationToken) is { } installed)
            {
                Log.BundledDatabaseInstalled(logger, installed.Folder, installed.Records.Values.Sum(),
                    string.Join(", ", installed.Records.Select(r => $"{r.Key} {r.Value}")));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Log.BundledDatabaseFailed(logger, databases.Folder, e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
