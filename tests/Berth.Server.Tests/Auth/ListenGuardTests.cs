using System.Net;
using System.Reflection;
using Berth.Server.Auth;
using Berth.Server.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Berth.Server.Tests.Auth;

public sealed class ListenGuardTests
{
    /// <summary>URLs an attacker or a careless operator might give; each row says whether the guard lets it through.</summary>
    public static TheoryData<string, bool> Urls => new()
    {
        { "http://127.0.0.1:18080", true },
        { "http://127.0.0.1:18080/", true },
        { "http://127.0.0.1", true },
        { "HTTP://127.0.0.1:1", true },
        { "https://127.0.0.1:1", true },
        { "http://127.255.255.254:1", true },
        { "http://127.1:1", true },                 // Kestrel binds 127.0.0.1
        { "http://0x7f.0.0.1:1", true },            // Kestrel binds 127.0.0.1
        { "http://2130706433:1", true },            // Kestrel binds 127.0.0.1
        { "http://127.000.000.001:1", true },
        { "http://[::1]:1", true },
        { "http://[::1]", true },
        { "http://[0:0:0:0:0:0:0:1]:1", true },
        { "http://[::1%1]:1", true },               // scoped ::1 is still loopback
        { "http://[::ffff:127.0.0.1]:1", true },    // IPv4-mapped loopback
        { "http://localhost:1", true },
        { "http://LOCALHOST:1", true },
        { "http://berth.localhost:1", true },       // Kestrel binds loopback for *.localhost
        { "http://a@127.0.0.1:18080", false },      // Kestrel: host "a@127.0.0.1" → every interface
        { "http://127.0.0.1:18080#", false },       // Kestrel: host "127.0.0.1:18080#", port 80, every interface
        { "http://127.0.0.1:18080?", false },
        { "http://127.0.0.1:1#@evil", false },
        { "http://x@berth.localhost:1", false },    // user info is refused even where Kestrel would bind loopback
        { "http://127.0.0.1:18080/base", false },   // Kestrel refuses path bases
        { "http://localhost.:1", false },           // not "localhost" to Kestrel: every interface
        { "http://.localhost:1", false },
        { "http://127.0.0.1.:1", false },
        { "http://127.0.0.1 :1", false },
        { "http://%31%32%37.0.0.1:1", false },
        { "http://+:80", false },
        { "http://*:80", false },
        { "*", false },
        { "", false },
        { "http://0.0.0.0:1", false },
        { "http://0:1", false },                    // 0.0.0.0
        { "http://[::]:1", false },
        { "http://1.2.3.4:1", false },
        { "http://example.com:1", false },
        { "http://unix:/tmp/berth.sock", false },
        { "ftp://127.0.0.1:1", false },
        { " http://127.0.0.1:1", false },
    };

    [Theory]
    [MemberData(nameof(Urls))]
    public void NotLoopback_TrickyUrls_RefusesEveryAddressBeyondLoopback(string url, bool allowed) =>
        Assert.True((ListenGuard.NotLoopback(url) is null) == allowed, $"{url}: {ListenGuard.NotLoopback(url) ?? "allowed"}");

    /// <summary>
    /// The guard must agree with what Kestrel really binds (its internal AddressBinder.ParseAddress): what the guard lets
    /// through binds loopback only, and whatever binds loopback without user info, query, fragment or path is let through.
    /// </summary>
    public static TheoryData<string> UrlsOnly => new(Urls.Select(row => (string)row[0]));

    [Theory]
    [MemberData(nameof(UrlsOnly))]
    public void NotLoopback_TrickyUrls_AgreesWithKestrel(string url)
    {
        var allowed = ListenGuard.NotLoopback(url) is null;
        var kestrelLoopback = KestrelBindsLoopbackOnly(url);
        Assert.True(allowed ? kestrelLoopback : !kestrelLoopback || url.AsSpan().IndexOfAny("@#?") >= 0 || url.TrimEnd('/').Count(c => c == '/') > 2,
            $"{url}: guard {(allowed ? "allows" : "refuses")}, Kestrel binds {(kestrelLoopback ? "loopback only" : "beyond loopback or fails")}");
    }

    [Fact]
    public void NotLoopback_UserInfo_SaysWhy() =>
        Assert.Contains("user info", ListenGuard.NotLoopback("http://a@127.0.0.1:18080"), StringComparison.Ordinal);

    [Fact]
    public void NotLoopback_AnyAddress_SaysEveryInterface() =>
        Assert.Equal("every interface", ListenGuard.NotLoopback("http://0.0.0.0:80"));

    [Fact]
    public void ConfiguredUrls_Nothing_IsKestrelsLocalhostDefault() =>
        Assert.Equal(["http://localhost:5000"], ListenGuard.ConfiguredUrls(Config([])));

    [Fact]
    public void ConfiguredUrls_UrlsAndEndpoints_TakesEveryOneUntrimmed() =>
        Assert.Equal(["http://127.0.0.1:1", " http://[::1]:2", "http://0.0.0.0:3"], ListenGuard.ConfiguredUrls(Config(new()
        {
            ["urls"] = "http://127.0.0.1:1; http://[::1]:2;",
            ["Kestrel:Endpoints:Open:Url"] = "http://0.0.0.0:3",
        })));

    [Fact]
    public void ConfiguredUrls_HttpPortsWithoutUrls_BindsEveryInterface()
    {
        var urls = ListenGuard.ConfiguredUrls(Config(new() { ["http_ports"] = "8080; 8081", ["https_ports"] = "8443" }));
        Assert.Equal(["http://*:8080", "http://*:8081", "https://*:8443"], urls);
        Assert.All(urls, u => Assert.NotNull(ListenGuard.NotLoopback(u)));
    }

    [Fact]
    public void ConfiguredUrls_HttpPortsWithUrls_AreIgnoredAsTheHostDoes() =>
        Assert.Equal(["http://127.0.0.1:1"], ListenGuard.ConfiguredUrls(Config(new() { ["urls"] = "http://127.0.0.1:1", ["http_ports"] = "8080" })));

    [Fact]
    public void CheckAddresses_NoKeysAndUserInfoUrl_RefusesNamingTheUrlAndTheFix()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            ListenGuard.CheckAddresses(Config(new() { ["urls"] = "http://a@127.0.0.1:18080" }), new AuthOptions()));
        Assert.Contains("it was asked to listen on http://a@127.0.0.1:18080 (user info", error.Message, StringComparison.Ordinal);
        Assert.Contains("Configure Auth:Keys", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckAddresses_WithKeys_AllowsEveryInterface()
    {
        var auth = new AuthOptions { Keys = [new() { Owner = "ops", Sha256 = new string('a', 64) }] };
        Assert.Null(Record.Exception(() => ListenGuard.CheckAddresses(Config(new() { ["urls"] = "http://0.0.0.0:8080" }), auth)));
    }

    private static IConfiguration Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static bool KestrelBindsLoopbackOnly(string url)
    {
        var binder = typeof(KestrelServerOptions).Assembly.GetType("Microsoft.AspNetCore.Server.Kestrel.Core.Internal.AddressBinder", throwOnError: true)!;
        var parse = binder.GetMethod("ParseAddress", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)!;
        object options;
        try
        {
            options = parse.Invoke(null, [url, null])!;
        }
        catch (TargetInvocationException)
        {
            return false; // Kestrel refuses to start
        }
        return options.GetType().Name switch
        {
            "LocalhostListenOptions" => true,
            "ListenOptions" => ((ListenOptions)options).EndPoint is IPEndPoint ip && ListenGuard.IsLoopback(ip.Address),
            _ => false,
        };
    }
}
