using Berth.Server.Logging;
using Berth.Server.Streams;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Berth.Server.Storage.Postgres;

/// <summary>
/// The process's one <c>LISTEN</c> on <see cref="PostgresSchema.QueuedChannel"/> (and, when it has a change feed, on
/// <see cref="PostgresSchema.JobChangedChannel"/>): a background loop that holds one connection (not pooled), waits for
/// notifications and wakes every current waiter on each, or passes the job changed to the feed. When the connection
/// drops (a PostgreSQL restart) it clears the pool of the other connections, which the restart broke too, reconnects
/// with a growing delay, and on listening again wakes every waiter and tells the feed that anything may have changed,
/// since notifications sent meanwhile were lost. Started by the first wait, or by <see cref="Start"/>.
/// </summary>
internal sealed class PostgresQueueListener : IAsyncDisposable
{
    /// <summary>How long the connection may stay silent before a <c>SELECT 1</c> proves it is still there.</summary>
    internal static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LastRetryDelay = TimeSpan.FromSeconds(5);

    private readonly NpgsqlDataSource _dataSource;
    private readonly Action _clearPool;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly JobChanges? _changes;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _signal = NewSignal();
    private TaskCompletionSource _listening = NewSignal();
    private Task? _loop;

    public PostgresQueueListener(NpgsqlDataSource dataSource, Action clearPool, TimeProvider time, ILogger logger, JobChanges? changes = null)
    {
        _dataSource = dataSource;
        _clearPool = clearPool;
        _time = time;
        _logger = logger;
        _changes = changes;
    }

    /// <summary>Starts listening (once; later calls do nothing).</summary>
    public void Start()
    {
        lock (_gate)
        {
            _loop ??= Task.Run(RunAsync, CancellationToken.None);
        }
    }

    /// <summary>
    /// Waits for a notification, or returns at once with true when the listener was not listening when the wait began
    /// and now is (it started, or came back after losing its connection: notifications may have been missed). False when
    /// <paramref name="timeout"/> passes first.
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task listening, signal;
        Start();
        lock (_gate)
        {
            listening = _listening.Task;
            signal = _signal.Task;
        }
        try
        {
            if (!listening.IsCompleted)
            {
                await listening.WaitAsync(timeout, _time, cancellationToken);
                return true;
            }
            await signal.WaitAsync(timeout, _time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void Notified(string channel, string payload)
    {
        if (channel != PostgresSchema.JobChangedChannel)
        {
            Wake();
        }
        else if (payload.StartsWith(PostgresSchema.LogPayloadPrefix, StringComparison.Ordinal))
        {
            _changes?.PublishLog(payload[PostgresSchema.LogPayloadPrefix.Length..]);
        }
        else
        {
            _changes?.Publish(payload);
        }
    }

    /// <summary>Wakes every current waiter.</summary>
    private void Wake()
    {
        TaskCompletionSource woken;
        lock (_gate)
        {
            woken = _signal;
            _signal = NewSignal();
        }
        woken.TrySetResult();
    }

    private async Task RunAsync()
    {
        var delay = FirstRetryDelay;
        var lost = false;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(_stop.Token);
                connection.Notification += (_, e) => Notified(e.Channel, e.Payload);
                await PostgresDatabase.ExecuteAsync(connection, $"LISTEN {PostgresSchema.QueuedChannel}", _stop.Token);
                if (_changes is not null)
                {
                    await PostgresDatabase.ExecuteAsync(connection, $"LISTEN {PostgresSchema.JobChangedChannel}", _stop.Token);
                }
                lock (_gate)
                {
                    _listening.TrySetResult();
                }
                if (lost)
                {
                    Log.QueueListenerReconnected(_logger);
                    Wake();
                }
                _changes?.PublishAll(); // whatever changed while this server was not listening
                lost = false;
                delay = FirstRetryDelay;
                while (true)
                {
                    if (!await connection.WaitAsync(KeepAlive, _stop.Token))
                    {
                        await PostgresDatabase.ExecuteAsync(connection, "SELECT 1", _stop.Token);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    if (_listening.Task.IsCompleted)
                    {
                        _listening = NewSignal();
                    }
                }
                _clearPool();
                if (!lost)
                {
                    Log.QueueListenerLost(_logger, (int)delay.TotalMilliseconds, e);
                }
                lost = true;
                try
                {
                    await Task.Delay(delay, _time, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LastRetryDelay.Ticks));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_gate)
        {
            loop = _loop;
        }
        await _stop.CancelAsync();
        if (loop is not null)
        {
            await loop;
        }
        _stop.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
