using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Berth.Server.Dashboard;

/// <summary>
/// The dashboard: static files compiled into the server (<c>Dashboard/wwwroot</c>, embedded resources), no other web
/// server and no CDN. <c>/</c>, <c>/leaderboard</c> and <c>/jobs/{id}</c> answer the page; the scripts and styles live under
/// <c>/dashboard/</c>. The page holds no data: it calls the API with the key its user types, like any other client.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>
    /// No inline script or style, nothing from another origin, never in a frame: job names, logs and findings are
    /// attacker-controlled text, and the page only ever sets them as text.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string ResourcePrefix = "Berth.Dashboard/";

    internal sealed record Asset(byte[] Content, string ContentType, string ETag);

    internal static readonly FrozenDictionary<string, Asset> Assets = Load();

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", Page).ExcludeFromDescription();
        app.MapGet("/leaderboard", Page).ExcludeFromDescription();
        app.MapGet("/jobs/{id}", (HttpContext http, string id) => Page(http)).ExcludeFromDescription();
        app.MapGet("/dashboard/{file}", File).ExcludeFromDescription();
        app.MapLeaderboardEndpoints();
        return app;
    }

    internal static IResult Page(HttpContext http) => Serve(http, "index.html");

    internal static IResult File(HttpContext http, string file) =>
        file != "index.html" && Assets.ContainsKey(file) ? Serve(http, file) : TypedResults.NotFound();

    private static IResult Serve(HttpContext http, string name)
    {
        var asset = Assets[name];
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-cache"; // revalidate: a new server version shows at once
        headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch == asset.ETag)
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.File(asset.Content, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            var name = resource[ResourcePrefix.Length..];
            assets[name] = new Asset(content, ContentType(name), $"\"{Convert.ToHexString(SHA256.HashData(content))[..16]}\"");
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}
