using Berth.Scanner.Advisories;
using Berth.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Server.Scanning;

/// <summary>
/// The advisory database, loaded once and loaded again when <c>db update</c> has replaced the folder
/// (its <c>berth-db.json</c> changed). Loading happens outside the lock readers take.
/// </summary>
public sealed class AdvisoryDatabaseProvider(IOptions<ScanOptions> scan, IOptions<BerthOptions> berth) : IDisposable
{
    private readonly SemaphoreSlim _loading = new(1, 1);
    private AdvisoryDatabase? _current;
    private DateTime _stamp;

    public string Folder => scan.Value.DatabasePath(berth.Value);

    public async Task<AdvisoryDatabase> GetAsync(CancellationToken cancellationToken)
    {
        var stamp = Stamp();
        if (_current is { } current && stamp == _stamp)
        {
            return current;
        }
        await _loading.WaitAsync(cancellationToken);
        try
        {
            stamp = Stamp();
            if (_current is null || stamp != _stamp)
            {
                _current = await Task.Run(() => AdvisoryDatabase.Load(Folder), cancellationToken);
                _stamp = stamp;
            }
            return _current;
        }
        finally
        {
            _loading.Release();
        }
    }

    public void Dispose() => _loading.Dispose();

    private DateTime Stamp()
    {
        var metadata = Path.Combine(Folder, AdvisoryDatabase.MetadataFile);
        return File.Exists(metadata) ? File.GetLastWriteTimeUtc(metadata) : Directory.Exists(Folder) ? Directory.GetLastWriteTimeUtc(Folder) : DateTime.MinValue;
    }
}
