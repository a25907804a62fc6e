using Microsoft.Extensions.Logging;

namespace Berth.Server.Logging;

/// <summary>The lines about the shared PostgreSQL store: connections, the queue listener, leases (event ids 330-339).</summary>
internal static partial class Log
{
    [LoggerMessage(330, LogLevel.Warning, "PostgreSQL: a statement failed on its connection (the pool is cleared; tried again: {Retried})")]
    public static partial void PostgresConnectionFailed(ILogger logger, bool retried, Exception exception);

    [LoggerMessage(331, LogLevel.Warning, "PostgreSQL: the queue listener lost its connection; it reconnects in {DelayMs} ms")]
    public static partial void QueueListenerLost(ILogger logger, int delayMs, Exception exception);

    [LoggerMessage(332, LogLevel.Information, "PostgreSQL: the queue listener is listening again")]
    public static partial void QueueListenerReconnected(ILogger logger);
}
