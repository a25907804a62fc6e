using Berth.Server.Webhooks;

namespace Berth.Server.Tests.Webhooks;

public sealed class WebhookHostTests
{
    [Theory]
    [InlineData("hooks.example.com", "hooks.example.com", null)]
    [InlineData(" Hooks.Example.COM:8443 ", "hooks.example.com", 8443)]
    [InlineData("127.0.0.1:9000", "127.0.0.1", 9000)]
    [InlineData("127.0.0.1", "127.0.0.1", null)]
    [InlineData("[::1]:9000", "::1", 9000)]
    [InlineData("::1", "::1", null)]
    [InlineData("localhost", "localhost", null)]
    public void TryParse_ValidEntry_GivesHostAndPort(string entry, string host, int? port)
    {
        Assert.True(WebhookHost.TryParse(entry, out var parsed, out var error), error);
        Assert.Equal(host, parsed.Host);
        Assert.Equal(port, parsed.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("*.example.com")]
    [InlineData("https://hooks.example.com")]
    [InlineData("hooks.example.com:0")]
    [InlineData("hooks.example.com:70000")]
    [InlineData("hooks.example.com:http")]
    [InlineData("[::1")]
    [InlineData("[::1]x")]
    [InlineData("hooks example.com")]
    public void TryParse_InvalidEntry_Fails(string entry)
    {
        Assert.False(WebhookHost.TryParse(entry, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("hooks.example.com", "https://hooks.example.com/x", true)]
    [InlineData("hooks.example.com", "http://HOOKS.example.com/x", true)]
    [InlineData("hooks.example.com", "https://hooks.example.com:8443/x", false)] // no port in the entry: default ports only
    [InlineData("hooks.example.com", "https://evil.hooks.example.com/x", false)]
    [InlineData("hooks.example.com", "https://hooks.example.com.evil.test/x", false)]
    [InlineData("hooks.example.com:8443", "https://hooks.example.com:8443/x", true)]
    [InlineData("hooks.example.com:8443", "https://hooks.example.com/x", false)]
    [InlineData("127.0.0.1:9000", "http://127.0.0.1:9000/hook", true)]
    [InlineData("127.0.0.1:9000", "http://127.0.0.1:9001/hook", false)]
    [InlineData("127.0.0.1:9000", "http://localhost:9000/hook", false)] // a literal entry admits no name
    [InlineData("localhost:9000", "http://127.0.0.1:9000/hook", false)] // a name entry admits no literal
    [InlineData("[::1]:9000", "http://[::1]:9000/hook", true)]
    [InlineData("127.0.0.1:9000", "http://[::ffff:127.0.0.1]:9000/hook", true)]
    public void Allows_Url_MatchesHostAndPort(string entry, string url, bool allowed)
    {
        Assert.True(WebhookHost.TryParse(entry, out var host, out _));

        Assert.Equal(allowed, host.Allows(new Uri(url)));
    }
}
