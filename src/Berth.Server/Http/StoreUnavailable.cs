using System.Data.Common;
using Berth.Server.Logging;
using Microsoft.AspNetCore.Diagnostics;

namespace Berth.Server.Http;

/// <summary>
/// A request that failed because the job store could not be reached (PostgreSQL restarting, a dropped connection) gets
/// 503 with Retry-After, not 500: nothing was lost, and the same request succeeds once the database is back.
/// </summary>
public sealed class StoreUnavailable(ILogger<StoreUnavailable> logger) : IExceptionHandler
{
    /// <summary>The ProblemDetails title of the 503: agents recognise by it that the API is up and its database is not.</summary>
    public const string Title = "Store unavailable";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsUnavailable(exception) || httpContext.Response.HasStarted)
        {
            return false;
        }
        Log.StoreUnavailable(logger, exception);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "5";
        await Results.Problem("the job store cannot be reached just now; nothing was changed, retry shortly",
            statusCode: StatusCodes.Status503ServiceUnavailable, title: Title).ExecuteAsync(httpContext);
        return true;
    }

    /// <summary>The store said so, a transient database error (the provider says so), or a timeout or dropped connection underneath one.</summary>
    internal static bool IsUnavailable(Exception exception) =>
        exception is Storage.StoreUnavailableException or DbException { IsTransient: true } || (exception is DbException && exception.InnerException is IOException or System.Net.Sockets.SocketException or TimeoutException);
}
