using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Storage;

/// <summary>The store contract on a real SQLite file in a temporary directory.</summary>
public sealed class SqliteJobStoreTests : JobStoreContract, IDisposable
{
    private readonly BerthOptions _options = new() { DataRoot = Directory.CreateTempSubdirectory("berth-store-").FullName };

    protected override IJobStore OpenStore() => new SqliteJobStore(Options.Create(_options));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools(); // closes this test's idle pooled connections (others reopen theirs on demand)
        Directory.Delete(_options.DataRoot, recursive: true);
    }
}
