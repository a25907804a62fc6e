using Berth.Server.Logging;
using Berth.Server.Streams;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Berth.Server.Storage.Postgres;

/// <summary>
/// The one owner of the process's connections to the shared PostgreSQL (<c>Store:ConnectionString</c>): the pool, the
/// schema, and the one <c>LISTEN</c> connection. A singleton; the job store, job files and fleet store run their
/// statements through it.
/// <para>
/// A PostgreSQL restart breaks every pooled connection. The first statement that fails on one clears the pool (as does
/// the listener, which notices at once), and is tried once more on a fresh connection when that is safe: always for
/// reads, and for writes when the failure came before the commit was sent. A failure that remains (the server is down
/// or starting, a statement timed out, or the commit itself was cut off) surfaces as <see cref="StoreUnavailableException"/>,
/// which the API answers with 503; the next call opens fresh connections and works as soon as the server is back.
/// </para>
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _listenSource;
    private readonly ILogger _logger;
    private readonly Lazy<PostgresQueueListener> _listener;
    private readonly JobChanges? _changes;

    /// <param name="changes">The live streams' feed, fed from the database's notifications once <see cref="InitializeAsync"/> ran.</param>
    public PostgresDatabase(IOptions<StoreOptions> options, TimeProvider? time = null, ILogger<PostgresDatabase>? logger = null, JobChanges? changes = null)
    {
        var connectionString = options.Value.ConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException("Store:ConnectionString is required with Store:Provider=postgres");
        }
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.ConnectionStringBuilder.ApplicationName))
        {
            builder.ConnectionStringBuilder.ApplicationName = "berth";
        }
        // Berth's statements leave no session state behind (advisory locks are per transaction; the LISTEN connection is
        // not pooled), so a connection needs no DISCARD ALL on its way back to the pool.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        _dataSource = builder.Build();
        _listenSource = new NpgsqlDataSourceBuilder(builder.ConnectionString) { ConnectionStringBuilder = { Pooling = false } }.Build();
        Time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _changes = changes;
        _listener = new(() => new PostgresQueueListener(_listenSource, ClearPool, Time, _logger, changes), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    internal TimeProvider Time { get; }

    /// <summary>The process's one <c>LISTEN</c> connection, started on first use.</summary>
    internal PostgresQueueListener Listener => _listener.Value;

    /// <summary>
    /// Applies the schema steps not yet applied, in one transaction under an advisory lock, then (with a change feed)
    /// starts listening for the changes other servers and agents make. Safe to call again.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await MigrateAsync(cancellationToken);
        if (_changes is not null)
        {
            Listener.Start();
        }
    }

    private Task<int> MigrateAsync(CancellationToken cancellationToken) =>
        WriteAsync(async (connection, _, ct) =>
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({PostgresSchema.MigrationLock})", ct);
            await ExecuteAsync(connection, PostgresSchema.VersionTable, ct);
            await using var current = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM berth_schema", connection);
            var applied = Convert.ToInt32(await current.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
            for (var step = applied; step < PostgresSchema.Steps.Count; step++)
            {
                await ExecuteAsync(connection, PostgresSchema.Steps[step], ct);
                await ExecuteAsync(connection, $"INSERT INTO berth_schema (version) VALUES ({step + 1})", ct);
            }
            return applied;
        }, cancellationToken);

    /// <summary>Runs a read (no transaction of its own); tried once more on a fresh connection after a connection failure.</summary>
    internal async Task<T> ReadAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                return await read(connection, cancellationToken);
            }
            catch (Exception e) when (IsConnectionFailure(e, cancellationToken))
            {
                if (!ShouldRetry(e, attempt, retryable: true))
                {
                    throw Unavailable(e);
                }
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> in a transaction and commits it. After a connection failure before the commit was
    /// sent (nothing was written), it is run once more on a fresh connection, unless <paramref name="retryable"/> is false
    /// (its input cannot be read twice).
    /// </summary>
    internal async Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<T>> write, CancellationToken cancellationToken, bool retryable = true)
    {
        for (var attempt = 1; ; attempt++)
        {
            var committing = false;
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                var result = await write(connection, transaction, cancellationToken);
                committing = true;
                await transaction.CommitAsync(cancellationToken);
                return result;
            }
            catch (Exception e) when (IsConnectionFailure(e, cancellationToken))
            {
                if (!ShouldRetry(e, attempt, retryable && !committing))
                {
                    throw Unavailable(e);
                }
            }
        }
    }

    internal static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Closes every idle pooled connection, and every busy one when it is returned: they may all be broken.</summary>
    internal void ClearPool() => _dataSource.Clear();

    public async ValueTask DisposeAsync()
    {
        if (_listener.IsValueCreated)
        {
            await _listener.Value.DisposeAsync();
        }
        await _listenSource.DisposeAsync();
        await _dataSource.DisposeAsync();
    }

    /// <summary>
    /// A failure of the connection rather than of the statement: the driver's I/O and time-out errors (every
    /// <see cref="NpgsqlException"/> that is not a server error), and server errors saying the connection is gone or
    /// the server is shutting down, starting or out of connections.
    /// </summary>
    internal static bool IsConnectionFailure(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && e switch
        {
            PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState is "57P01" or "57P02" or "57P03" or "53300",
            NpgsqlException => true,
            _ => false,
        };

    private bool ShouldRetry(Exception e, int attempt, bool retryable)
    {
        ClearPool();
        var retry = attempt == 1 && retryable && e.InnerException is not TimeoutException;
        Log.PostgresConnectionFailed(_logger, retry, e);
        return retry;
    }

    private static StoreUnavailableException Unavailable(Exception e) =>
        new($"the job database (PostgreSQL) is unavailable: {e.Message}", e);
}
