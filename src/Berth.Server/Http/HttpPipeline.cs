using Berth.Server.Auth;
using Berth.Server.Configuration;

namespace Berth.Server.Http;

/// <summary>The middleware every request meets before authentication, in order. Program.cs and the tests share it.</summary>
public static class HttpPipeline
{
    public static WebApplication UseBerthFrontDoor(this WebApplication app, AuthOptions auth)
    {
        app.UseNoSniff();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseCorrelationId();
        app.UseListenGuard(auth);
        app.UseBrowserGuard(keyless: auth.Keys.Count == 0, auth.PublicOrigin);
        return app;
    }

    /// <summary>
    /// <c>X-Content-Type-Options: nosniff</c> on every response (set as it starts, so error pages keep it):
    /// a browser never reads a job's log or a ProblemDetails body as HTML or script.
    /// </summary>
    public static IApplicationBuilder UseNoSniff(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return Task.CompletedTask;
        });
        return next(context);
    });
}
