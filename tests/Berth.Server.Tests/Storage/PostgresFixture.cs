using Berth.Tests.Shared;

namespace Berth.Server.Tests.Storage;

/// <summary>One throwaway PostgreSQL cluster for every test class in <see cref="PostgresCollection"/>; each test takes its own database.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await PostgresCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
