namespace Berth.Server.Errors;

/// <summary>Why Berth refuses a client request. The API maps each kind to one HTTP status and title (<c>Api/Problems</c>).</summary>
public enum Rejection
{
    /// <summary>Malformed, missing or unknown input (400).</summary>
    BadRequest,

    /// <summary>A body in a form Berth does not read (415).</summary>
    UnsupportedMediaType,

    /// <summary>Over a size or count limit: the body, the context, a tar header, a decompression ratio (413).</summary>
    TooLarge,

    /// <summary>Well-formed but not acceptable: a limit above the server's maximum, a context entry leaving the context (422).</summary>
    Unprocessable,

    /// <summary>The job is in a state that does not allow the request (409).</summary>
    Conflict,

    /// <summary>The queue holds <c>Berth:QueueCap</c> jobs; retry later (503 with Retry-After).</summary>
    QueueFull,

    /// <summary>The owner made <c>Auth:SubmitsPerMinute</c> submissions this minute (429 with Retry-After).</summary>
    TooManyRequests,
}

/// <summary>A client request Berth refuses, for a <see cref="Kind"/> of reason, with a message the client can act on.</summary>
public sealed class RequestRejectedException(Rejection kind, string message, string? field = null) : Exception(message)
{
    public Rejection Kind { get; } = kind;

    /// <summary>The request field at fault, when there is one (e.g. <c>limits.memoryMb</c>).</summary>
    public string? Field { get; } = field;

    /// <summary>When the client may try again (a full queue, a rate limit).</summary>
    public TimeSpan? RetryAfter { get; init; }
}
