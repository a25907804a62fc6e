namespace Berth.Server.Streams;

/// <summary>
/// How often a followed log is read again when nothing announced that it grew: the SQLite Berth's pipeline writes logs
/// to files nobody announces, so they are polled briefly; PostgreSQL announces every appended chunk (a trigger), so its
/// poll is only a safety net.
/// </summary>
public sealed record LogPolling(TimeSpan Interval)
{
    /// <summary>Logs in local files (SQLite).</summary>
    public static LogPolling Files { get; } = new(TimeSpan.FromMilliseconds(250));

    /// <summary>Logs whose growth is announced by the store (PostgreSQL).</summary>
    public static LogPolling Announced { get; } = new(TimeSpan.FromSeconds(5));
}
