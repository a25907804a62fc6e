using Berth.Server.Storage;
using Berth.Server.Storage.Postgres;
using Berth.Tests.Shared;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Berth.Server.Tests.Storage.Postgres;

/// <summary>
/// A fresh database of the test cluster, the <see cref="PostgresDatabase"/> objects opened on it (each one an API server's),
/// disposed with it, and plain SQL on it for what the tests set up or look at behind the store's back.
/// </summary>
internal sealed class TestDatabase : IAsyncDisposable
{
    private readonly List<PostgresDatabase> _opened = [];

    private TestDatabase(string connectionString) => ConnectionString = connectionString;

    public string ConnectionString { get; }

    public static async Task<TestDatabase> CreateAsync(PostgresCluster cluster) => new(await cluster.CreateDatabaseAsync());

    /// <summary>One more server's view of the database, not yet initialized.</summary>
    public PostgresDatabase Open(TimeProvider? time = null)
    {
        var database = new PostgresDatabase(Options.Create(new StoreOptions { Provider = "postgres", ConnectionString = ConnectionString }), time);
        _opened.Add(database);
        return database;
    }

    public async Task<PostgresDatabase> OpenInitializedAsync()
    {
        var database = Open();
        await database.InitializeAsync(default);
        return database;
    }

    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenConnectionAsync();
        await using var command = Command(sql, connection, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenConnectionAsync();
        await using var command = Command(sql, connection, parameters);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? reader.GetFieldValue<T>(0) : throw new InvalidOperationException($"no row from {sql}");
    }

    public async Task<List<T>> ColumnAsync<T>(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenConnectionAsync();
        await using var command = Command(sql, connection, parameters);
        var values = new List<T>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetFieldValue<T>(0));
        }
        return values;
    }

    /// <summary>
    /// Restarts the cluster as a crash would, every commit so far kept: the test cluster commits without waiting for
    /// the WAL (<c>synchronous_commit=off</c>), so a crash would otherwise lose the latest ones.
    /// </summary>
    public async Task CrashAndRestartAsync(PostgresCluster cluster)
    {
        await ExecuteAsync("CHECKPOINT");
        await cluster.RestartImmediateAsync();
    }

    public async Task<NpgsqlConnection> OpenConnectionAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _opened)
        {
            await database.DisposeAsync();
        }
    }

    private static NpgsqlCommand Command(string sql, NpgsqlConnection connection, (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }
}
