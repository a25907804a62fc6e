using Npgsql;

namespace Berth.Server.Tests.Storage;

/// <summary>The test cluster is the suite's own: a socket in its own directory, its own port, and databases that start empty.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresClusterTests(PostgresFixture fixture)
{
    [Fact]
    public async Task CreateDatabase_Twice_GivesTwoEmptyDatabasesOnTheOwnSocket()
    {
        var first = new NpgsqlConnectionStringBuilder(await fixture.Cluster.CreateDatabaseAsync());
        var second = new NpgsqlConnectionStringBuilder(await fixture.Cluster.CreateDatabaseAsync());

        Assert.NotEqual(first.Database, second.Database);
        Assert.Equal(fixture.Cluster.Root, first.Host);
        Assert.True(File.Exists(Path.Combine(fixture.Cluster.Root, $".s.PGSQL.{fixture.Cluster.Port}")));
        await using var connection = new NpgsqlConnection(first.ToString());
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", connection);
        Assert.Equal(0L, await count.ExecuteScalarAsync());
    }
}
