using System.ComponentModel.DataAnnotations;
using Berth.Server.Configuration;

namespace Berth.Server.Tests.Webhooks;

public sealed class WebhooksOptionsTests
{
    private static List<ValidationResult> Validate(WebhooksOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }

    [Fact]
    public void Defaults_AreValidAndAllowNothing()
    {
        var options = new WebhooksOptions();

        Assert.Empty(Validate(options));
        Assert.Empty(options.AllowedHosts);
        Assert.Equal(6, options.MaxAttempts);
        Assert.False(options.AllowPrivateNetworks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fifteen-chars!!")]
    public void Validate_AllowedHostsWithoutALongEnoughSecret_IsRejected(string secret)
    {
        var results = Validate(new WebhooksOptions { AllowedHosts = ["hooks.example.com"], Secret = secret });

        Assert.Contains(results, r => r.ErrorMessage!.StartsWith("Webhooks:Secret must be at least 16", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_BadAllowedHostsEntry_IsRejectedNamingIt()
    {
        var results = Validate(new WebhooksOptions { AllowedHosts = ["hooks.example.com", "*.example.com"], Secret = "0123456789abcdef" });

        Assert.Contains(results, r => r.ErrorMessage!.StartsWith("Webhooks:AllowedHosts:1 ", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_MaxBackoffBelowInitial_IsRejected() =>
        Assert.NotEmpty(Validate(new WebhooksOptions { InitialBackoffSeconds = 60, MaxBackoffSeconds = 30 }));

    [Theory]
    [InlineData(1, 30)]
    [InlineData(2, 60)]
    [InlineData(3, 120)]
    [InlineData(4, 240)]
    [InlineData(5, 480)]
    [InlineData(8, 3600)] // 3840 capped
    [InlineData(40, 3600)]
    public void BackoffAfter_Attempt_DoublesFromTheInitialWaitUpToTheCap(int attempt, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), new WebhooksOptions { InitialBackoffSeconds = 30, MaxBackoffSeconds = 3600 }.BackoffAfter(attempt));
}
