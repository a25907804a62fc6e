using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Storage;

/// <summary>The store contract on a real SQLite file in a temporary directory, and what only SQLite has.</summary>
public sealed class SqliteJobStoreTests : JobStoreContract, IDisposable
{
    private readonly BerthOptions _options = new() { DataRoot = Directory.CreateTempSubdirectory("berth-store-").FullName };

    protected override IJobStore OpenStore() => new SqliteJobStore(Options.Create(_options));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools(); // closes this test's idle pooled connections (others reopen theirs on demand)
        Directory.Delete(_options.DataRoot, recursive: true);
    }

    [Fact]
    public async Task TryEnqueueAsync_ManySubmissionsAndNothingElse_WalIsCheckpointed()
    {
        // Each enqueue writes about six pages; SQLite checkpoints once the WAL holds 1,000, then starts it over.
        for (var i = 0; i < 400; i++)
        {
            await EnqueueAsync(cap: 1000);
        }

        var wal = new FileInfo(_options.DatabasePath + "-wal");
        Assert.True(wal.Exists);
        Assert.InRange(wal.Length, 1, 1100 * 4120); // frames of 4 KiB pages and a 24-byte header each
        Assert.Equal(400, await Store.CountQueuedAsync(default));
    }
}
