using System.Net;
using Berth.Server.Auth;
using Berth.Server.Logging;

namespace Berth.Server.Http;

/// <summary>
/// Refuses what a web page can make a browser send. With no API keys (loopback-only mode) the Host header must
/// name localhost or a loopback address, else 421: a DNS-rebinding page names its own domain. In every mode a
/// state-changing request (any method but GET, HEAD, OPTIONS, TRACE) that the browser marks as coming from
/// another origin (<c>Origin</c>, including "null") or another site (<c>Sec-Fetch-Site</c> cross-site or
/// same-site, such as another port on localhost) gets 403: text/plain and multipart posts need no CORS preflight.
/// Clients that send neither header (curl, the CLI) are not affected.
/// </summary>
public static class BrowserGuard
{
    internal sealed record Refusal(int Status, string Title, string Detail);

    public static IApplicationBuilder UseBrowserGuard(this IApplicationBuilder app, bool keyless, string? publicOrigin = null) => app.Use(async (context, next) =>
    {
        if (Check(context.Request, keyless, publicOrigin) is not { } refusal)
        {
            await next(context);
            return;
        }
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Berth.Http");
        Log.RequestRefused(logger, context.Request.Method, context.Request.Path.ToString(), refusal.Status, refusal.Detail);
        await Results.Problem(refusal.Detail, statusCode: refusal.Status, title: refusal.Title).ExecuteAsync(context);
    });

    /// <summary>Null when the request may go on.</summary>
    internal static Refusal? Check(HttpRequest request, bool keyless, string? publicOrigin = null)
    {
        if (keyless && !IsLoopbackHost(request.Host))
        {
            return new(StatusCodes.Status421MisdirectedRequest, "Misdirected request",
                "no API keys are configured (Auth:Keys), so Berth only answers requests addressed to localhost or a loopback address (Host header)");
        }
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method))
        {
            return null;
        }
        var site = request.Headers["Sec-Fetch-Site"];
        if (site.Count > 0 && !(site.Count == 1 && site[0] is "same-origin" or "none"))
        {
            return CrossSite("the browser marked it as sent by another site (Sec-Fetch-Site)");
        }
        var origin = request.Headers.Origin;
        if (origin.Count > 0 && !(origin.Count == 1 && (IsSameOrigin(origin[0], request) || IsPublicOrigin(origin[0], publicOrigin))))
        {
            return CrossSite("its Origin is not this server's origin");
        }
        return null;
    }

    /// <summary>"localhost" or a loopback IP literal; not "localhost." and not other names, which DNS answers.</summary>
    internal static bool IsLoopbackHost(HostString host) =>
        host.HasValue && (host.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
                          (IPAddress.TryParse(host.Host, out var ip) && ListenGuard.IsLoopback(ip)));

    /// <summary>An http(s) URL with nothing but scheme, host and port: the form of an <c>Origin</c> header.</summary>
    internal static bool IsSerializedOrigin(string? origin, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Uri? uri) =>
        Uri.TryCreate(origin, UriKind.Absolute, out uri) && uri.Scheme is "http" or "https" &&
        uri.AbsolutePath == "/" && !origin.EndsWith('/') && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0;

    /// <summary>The origin is the configured <c>Auth:PublicOrigin</c> (scheme, host and port; default ports filled in).</summary>
    internal static bool IsPublicOrigin(string? origin, string? publicOrigin) =>
        publicOrigin is not null && IsSerializedOrigin(origin, out var uri) && IsSerializedOrigin(publicOrigin, out var expected) &&
        uri.Scheme == expected.Scheme && uri.Host.Equals(expected.Host, StringComparison.OrdinalIgnoreCase) && uri.Port == expected.Port;

    /// <summary>Scheme, host and port of a serialized origin equal the request's (default ports filled in).</summary>
    internal static bool IsSameOrigin(string? origin, HttpRequest request)
    {
        if (!IsSerializedOrigin(origin, out var uri) || !request.Host.HasValue)
        {
            return false;
        }
        var port = request.Host.Port ?? (request.IsHttps ? 443 : 80);
        return uri.Scheme.Equals(request.Scheme, StringComparison.OrdinalIgnoreCase) &&
               uri.Host.Equals(request.Host.Host, StringComparison.OrdinalIgnoreCase) &&
               uri.Port == port;
    }

    private static Refusal CrossSite(string why) =>
        new(StatusCodes.Status403Forbidden, "Cross-site request refused",
            $"Berth refuses state-changing requests from web pages of other origins: {why}. Call the API directly (curl, the berth CLI) or from a page Berth serves.");
}
