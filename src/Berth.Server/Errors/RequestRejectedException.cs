namespace Berth.Server.Errors;

/// <summary>A client request Berth refuses; <see cref="StatusCode"/> is the HTTP status (4xx/503) to answer with.</summary>
public sealed class RequestRejectedException(int statusCode, string message, string? field = null) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    /// <summary>The request field at fault, when there is one (e.g. <c>limits.memoryMb</c>).</summary>
    public string? Field { get; } = field;
}
