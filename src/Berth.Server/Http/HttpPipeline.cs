using Berth.Server.Auth;
using Berth.Server.Configuration;

namespace Berth.Server.Http;

/// <summary>The middleware every request meets before authentication, in order. Program.cs and the tests share it.</summary>
public static class HttpPipeline
{
    public static WebApplication UseBerthFrontDoor(this WebApplication app, AuthOptions auth)
    {
        app.UseNoSniff();
        app.UseKnownMethods();
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

    /// <summary>
    /// 501 for a method Berth has no route for (Kestrel accepts any token as a method): refused before anything records
    /// it, so a made-up method never becomes a label of the HTTP request metrics (one new series each, kept forever).
    /// </summary>
    public static IApplicationBuilder UseKnownMethods(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsPost(method) || HttpMethods.IsPut(method) ||
            HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method) || HttpMethods.IsOptions(method))
        {
            return next(context);
        }
        return Results.Problem("Berth answers GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS only.",
            statusCode: StatusCodes.Status501NotImplemented, title: "Method not implemented").ExecuteAsync(context);
    });
}
