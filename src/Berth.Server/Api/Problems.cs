using Berth.Server.Errors;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Berth.Server.Api;

/// <summary>The one place a <see cref="RequestRejectedException"/> becomes a ProblemDetails response.</summary>
internal static class Problems
{
    /// <summary>The HTTP status and ProblemDetails title of each kind of rejection. Clients see these: never change one.</summary>
    internal static (int Status, string Title) Of(Rejection kind) => kind switch
    {
        Rejection.BadRequest => (StatusCodes.Status400BadRequest, "Invalid request"),
        Rejection.UnsupportedMediaType => (StatusCodes.Status415UnsupportedMediaType, "Unsupported media type"),
        Rejection.TooLarge => (StatusCodes.Status413PayloadTooLarge, "Too large"),
        Rejection.Unprocessable => (StatusCodes.Status422UnprocessableEntity, "Invalid job"),
        Rejection.Conflict => (StatusCodes.Status409Conflict, "Conflict"),
        Rejection.QueueFull => (StatusCodes.Status503ServiceUnavailable, "Queue full"),
        Rejection.TooManyRequests => (StatusCodes.Status429TooManyRequests, "Too many requests"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no HTTP status for this rejection"),
    };

    /// <summary><c>detail</c> is the exception's message, <c>field</c> (when known) the request field at fault; a full queue or a rate limit adds Retry-After.</summary>
    public static ProblemHttpResult Rejected(HttpContext http, RequestRejectedException e)
    {
        var (status, title) = Of(e.Kind);
        if (e.Kind == Rejection.QueueFull)
        {
            http.Response.Headers.RetryAfter = "5";
        }
        if (e.RetryAfter is { } after)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        var extensions = e.Field is null ? null : new Dictionary<string, object?> { ["field"] = e.Field };
        return TypedResults.Problem(e.Message, statusCode: status, title: title, extensions: extensions);
    }
}
