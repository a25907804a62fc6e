using System.Net;

namespace Berth.Cli.Http;

/// <summary>
/// The server could not be reached or refused the request. <see cref="Message"/> is what the user reads: for an
/// HTTP error, the status and the ProblemDetails title and detail (and the field at fault).
/// </summary>
public sealed class BerthApiException(string message, HttpStatusCode? status = null, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The HTTP status; null when no response came (connection refused, DNS, timeout).</summary>
    public HttpStatusCode? Status { get; } = status;
}
