using System.Net;
using System.Text.RegularExpressions;
using Berth.Server.Dashboard;
using Berth.Server.Tests.Api;

namespace Berth.Server.Tests.Dashboard;

/// <summary>A keyless Berth for the tests of one class (a class fixture needs a single constructor).</summary>
public sealed class DashboardServer() : BerthApiFactory(new Dictionary<string, string>());

public sealed partial class DashboardEndpointsTests(DashboardServer server) : IClassFixture<DashboardServer>
{
    [GeneratedRegex("""from '\./([a-z]+\.js)'""")]
    private static partial Regex Import();

    [Theory]
    [InlineData("/")]
    [InlineData("/leaderboard")]
    [InlineData("/jobs/0123456789abcdef0123456789abcdef")]
    public async Task Page_ClientRoute_ServesThePageWithStrictHeaders(string path)
    {
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(DashboardEndpoints.ContentSecurityPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("default-src 'self'", DashboardEndpoints.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", DashboardEndpoints.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-", DashboardEndpoints.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("<script type=\"module\" src=\"/dashboard/app.js\"></script>", body, StringComparison.Ordinal);
        Assert.DoesNotMatch("<script(?![^>]*src=)", body); // no inline script
    }

    [Fact]
    public async Task Asset_Script_ServedAsJavaScriptAndRevalidatedByETag()
    {
        using var client = server.CreateClient();

        using var first = await client.GetAsync(new Uri("/dashboard/app.js", UriKind.Relative));
        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard/app.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var second = await client.SendAsync(again);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("text/javascript", first.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", first.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Theory]
    [InlineData("/dashboard/missing.js")]
    [InlineData("/dashboard/..%2Fappsettings.json")]
    [InlineData("/jobs/0123456789abcdef0123456789abcdef/extra")]
    public async Task Asset_Unknown_404(string path)
    {
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public void Assets_EveryFileThePageAndItsModulesLoad_IsEmbedded()
    {
        var assets = DashboardEndpoints.Assets;
        var index = System.Text.Encoding.UTF8.GetString(assets["index.html"].Content);
        var wanted = new List<string> { "app.js", "app.css", "favicon.svg" };
        Assert.Contains("/dashboard/app.css", index, StringComparison.Ordinal);
        Assert.Contains("<link rel=\"icon\" type=\"image/svg+xml\" href=\"/dashboard/favicon.svg\">", index, StringComparison.Ordinal); // else every visit asks for /favicon.ico: a 404
        foreach (var module in assets.Keys.Where(k => k.EndsWith(".js", StringComparison.Ordinal)))
        {
            wanted.AddRange(Import().Matches(System.Text.Encoding.UTF8.GetString(assets[module].Content)).Select(m => m.Groups[1].Value));
        }

        Assert.All(wanted, file => Assert.True(assets.ContainsKey(file), $"{file} is not embedded"));
        Assert.Contains("job.js", wanted);
    }
}
