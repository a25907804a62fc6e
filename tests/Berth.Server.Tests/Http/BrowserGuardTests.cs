using Berth.Server.Http;
using Microsoft.AspNetCore.Http;

namespace Berth.Server.Tests.Http;

public sealed class BrowserGuardTests
{
    private static HttpRequest Request(string method, string host, string scheme = "http", string? origin = null, string? fetchSite = null)
    {
        var request = new DefaultHttpContext().Request;
        request.Method = method;
        request.Scheme = scheme;
        request.Host = new HostString(host);
        if (origin is not null)
        {
            request.Headers.Origin = origin;
        }
        if (fetchSite is not null)
        {
            request.Headers["Sec-Fetch-Site"] = fetchSite;
        }
        return request;
    }

    [Theory]
    [InlineData("127.0.0.1:8080")]
    [InlineData("127.0.0.1")]
    [InlineData("127.9.8.7:1")]
    [InlineData("localhost:8080")]
    [InlineData("LOCALHOST")]
    [InlineData("[::1]:8080")]
    [InlineData("[::ffff:127.0.0.1]:8080")]
    public void Check_KeylessLoopbackHost_Passes(string host) =>
        Assert.Null(BrowserGuard.Check(Request("GET", host), keyless: true));

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:8080")]
    [InlineData("localhost.:8080")]           // a DNS name, not the loopback name
    [InlineData("localhost.evil.example")]
    [InlineData("berth.localhost:8080")]      // resolved by DNS in some clients
    [InlineData("127.0.0.1.nip.io:8080")]
    [InlineData("0.0.0.0:8080")]
    [InlineData("10.0.0.5:8080")]
    [InlineData("[::]:8080")]
    [InlineData("")]
    public void Check_KeylessOtherHost_Is421(string host) =>
        Assert.Equal(421, BrowserGuard.Check(Request("GET", host), keyless: true)?.Status);

    [Fact]
    public void Check_KeysAndAnyHost_Passes() =>
        Assert.Null(BrowserGuard.Check(Request("GET", "berth.example.com"), keyless: false));

    [Theory]
    [InlineData("POST", "http://evil.example", null)]
    [InlineData("POST", "null", null)]
    [InlineData("POST", "http://localhost:3000", null)]      // same site, other origin
    [InlineData("POST", "https://127.0.0.1:8080", null)]     // other scheme
    [InlineData("POST", "http://127.0.0.1:8081", null)]      // other port
    [InlineData("POST", "http://127.0.0.1", null)]           // port 80, not 8080
    [InlineData("POST", "http://127.0.0.1:8080/path", null)] // not a serialized origin
    [InlineData("POST", "http://a@127.0.0.1:8080", null)]
    [InlineData("POST", "", null)]
    [InlineData("DELETE", "http://evil.example", null)]
    [InlineData("PUT", "http://evil.example", null)]
    [InlineData("PATCH", "http://evil.example", null)]
    [InlineData("PROPFIND", "http://evil.example", null)]
    [InlineData("POST", null, "cross-site")]
    [InlineData("POST", null, "same-site")]
    [InlineData("POST", "http://127.0.0.1:8080", "cross-site")] // the header the browser sets wins over a matching Origin
    [InlineData("DELETE", null, "Cross-Site")]
    public void Check_StateChangingFromAnotherOriginOrSite_Is403InEveryMode(string method, string? origin, string? fetchSite)
    {
        Assert.Equal(403, BrowserGuard.Check(Request(method, "127.0.0.1:8080", origin: origin, fetchSite: fetchSite), keyless: true)?.Status);
        Assert.Equal(403, BrowserGuard.Check(Request(method, "127.0.0.1:8080", origin: origin, fetchSite: fetchSite), keyless: false)?.Status);
    }

    [Theory]
    [InlineData("POST", "http://127.0.0.1:8080", null, "127.0.0.1:8080")]
    [InlineData("POST", "http://LOCALHOST:8080", "same-origin", "localhost:8080")]
    [InlineData("POST", "http://localhost", null, "localhost:80")]
    [InlineData("POST", "http://localhost:80", null, "localhost")]
    [InlineData("DELETE", "http://[::1]:8080", null, "[::1]:8080")]
    [InlineData("POST", null, null, "127.0.0.1:8080")]         // curl, the CLI
    [InlineData("POST", null, "none", "127.0.0.1:8080")]
    [InlineData("GET", "http://evil.example", "cross-site", "127.0.0.1:8080")] // reads: the browser keeps the answer from the page
    [InlineData("HEAD", "null", "cross-site", "127.0.0.1:8080")]
    [InlineData("OPTIONS", "http://evil.example", "cross-site", "127.0.0.1:8080")]
    public void Check_SameOriginOrSafeMethod_Passes(string method, string? origin, string? fetchSite, string host) =>
        Assert.Null(BrowserGuard.Check(Request(method, host, origin: origin, fetchSite: fetchSite), keyless: true));

    /// <summary>Behind a TLS proxy Berth receives http with the browser's Host; the page's origin is https.</summary>
    [Theory]
    [InlineData("https://berth.example.com", null, 403)]
    [InlineData("https://berth.example.com", "https://berth.example.com", null)]
    [InlineData("https://berth.example.com:443", "https://berth.example.com", null)]
    [InlineData("https://evil.example", "https://berth.example.com", 403)]
    [InlineData("http://berth.example.com:8443", "https://berth.example.com", 403)]
    [InlineData("https://berth.example.com.evil.example", "https://berth.example.com", 403)]
    public void Check_BehindATlsProxy_PassesOnlyTheConfiguredPublicOrigin(string origin, string? publicOrigin, int? expected) =>
        Assert.Equal(expected, BrowserGuard.Check(Request("DELETE", "berth.example.com", "http", origin, "same-origin"), keyless: false, publicOrigin)?.Status);

    [Fact]
    public void Check_HttpsSameOrigin_Passes() =>
        Assert.Null(BrowserGuard.Check(Request("POST", "berth.example.com", "https", "https://berth.example.com"), keyless: false));

    [Fact]
    public void Check_TwoOrigins_Is403()
    {
        var request = Request("POST", "127.0.0.1:8080");
        request.Headers.Origin = new Microsoft.Extensions.Primitives.StringValues(["http://127.0.0.1:8080", "http://evil.example"]);
        Assert.Equal(403, BrowserGuard.Check(request, keyless: false)?.Status);
    }
}
