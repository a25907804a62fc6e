using Berth.Server.Configuration;
using Berth.Server.Errors;
using Berth.Server.Webhooks;

namespace Berth.Server.Tests.Webhooks;

public sealed class CallbackUrlsTests
{
    private static readonly WebhooksOptions Allowing = new() { Secret = "0123456789abcdef", AllowedHosts = ["hooks.example.com", "127.0.0.1:9000"] };

    [Fact]
    public void Check_Null_IsNoWebhook() => Assert.Null(CallbackUrls.Check(null, Allowing));

    [Theory]
    [InlineData("https://hooks.example.com/berth?token=abc")]
    [InlineData("http://127.0.0.1:9000/hook")]
    public void Check_AllowedUrl_IsReturned(string url) =>
        Assert.Equal(new Uri(url), CallbackUrls.Check(url, Allowing));

    [Theory]
    [InlineData("", "absolute http or https URL")]
    [InlineData("/relative/path", "absolute http or https URL")]
    [InlineData("hooks.example.com/berth", "absolute http or https URL")]
    [InlineData("ftp://hooks.example.com/berth", "absolute http or https URL")]
    [InlineData("file:///etc/passwd", "absolute http or https URL")]
    [InlineData("https://user:secret@hooks.example.com/berth", "user name or password")]
    [InlineData("https://other.example.com/berth", "Webhooks:AllowedHosts")]
    [InlineData("https://hooks.example.com:8443/berth", "Webhooks:AllowedHosts")]
    [InlineData("http://127.0.0.1/hook", "Webhooks:AllowedHosts")]
    [InlineData("http://169.254.169.254/latest/meta-data", "Webhooks:AllowedHosts")]
    public void Check_RefusedUrl_Is400NamingTheField(string url, string reason)
    {
        var refused = Assert.Throws<RequestRejectedException>(() => CallbackUrls.Check(url, Allowing));

        Assert.Equal(Rejection.BadRequest, refused.Kind);
        Assert.Equal("callbackUrl", refused.Field);
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_LongerThan2048_IsRefused()
    {
        var url = "https://hooks.example.com/" + new string('a', CallbackUrls.MaxLength);

        var refused = Assert.Throws<RequestRejectedException>(() => CallbackUrls.Check(url, Allowing));

        Assert.Contains("2048", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_NoAllowedHostsConfigured_RefusesEveryUrlNamingTheSetting()
    {
        var refused = Assert.Throws<RequestRejectedException>(() => CallbackUrls.Check("https://hooks.example.com/berth", new WebhooksOptions()));

        Assert.Equal("callbackUrl", refused.Field);
        Assert.Contains("Webhooks:AllowedHosts", refused.Message, StringComparison.Ordinal);
    }
}
