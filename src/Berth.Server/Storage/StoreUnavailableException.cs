namespace Berth.Server.Storage;

/// <summary>
/// The job database cannot be reached (refused, dropped, restarting, or too slow to answer): the request may succeed
/// when tried again, so the API answers 503. The inner exception is the driver's. Thrown by the PostgreSQL store, job
/// files and fleet store after their one automatic retry on a fresh connection (see <c>PostgresDatabase</c>).
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message) : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
