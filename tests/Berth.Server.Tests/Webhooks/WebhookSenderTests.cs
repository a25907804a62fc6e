using System.Net;
using Berth.Server.Configuration;
using Berth.Server.Webhooks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Server.Tests.Webhooks;

/// <summary>The sender against a real loopback receiver; host names resolve through <see cref="FixedResolver"/>, never DNS.</summary>
public sealed class WebhookSenderTests : IAsyncLifetime
{
    private const string Secret = "test-secret-0123456789";
    private LoopbackReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await LoopbackReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    private WebhookSender Sender(FixedResolver? resolver = null, TimeProvider? time = null, bool allowPrivate = false, params string[] allowed) =>
        new(Options.Create(new WebhooksOptions
        {
            Secret = Secret,
            AllowedHosts = allowed.Length > 0 ? [.. allowed] : [$"127.0.0.1:{_receiver.Port}"],
            AllowPrivateNetworks = allowPrivate,
            TimeoutSeconds = 5,
        }), resolver ?? new FixedResolver(), time ?? TimeProvider.System);

    private WebhookDelivery Delivery(string? url = null, int attempt = 1) =>
        new("job-1", url ?? $"http://127.0.0.1:{_receiver.Port}/hook?token=t0k", "delivery-1", attempt);

    [Fact]
    public async Task SendAsync_AllowedLoopbackLiteral_PostsTheBodySignedWithTheHeaders()
    {
        using var sender = Sender();
        var body = "{\"id\":\"job-1\",\"status\":\"succeeded\"}"u8.ToArray();

        var result = await sender.SendAsync(Delivery(attempt: 3), body, default);

        Assert.True(result.Delivered);
        Assert.Equal(204, result.Status);
        var hook = Assert.Single(_receiver.Received);
        Assert.Equal("/hook?token=t0k", hook.Path);
        Assert.Equal(body, hook.Body);
        Assert.Equal("application/json", hook.Headers["Content-Type"]);
        Assert.Equal(WebhookSignature.Sign(body, Secret), hook.Headers["X-Berth-Signature"]);
        Assert.True(WebhookSignature.Verify(hook.Body, Secret, hook.Headers["X-Berth-Signature"]));
        Assert.Equal("delivery-1", hook.Headers["X-Berth-Delivery"]);
        Assert.Equal("job.finished", hook.Headers["X-Berth-Event"]);
        Assert.Equal("3", hook.Headers["X-Berth-Attempt"]);
    }

    [Fact]
    public async Task SendAsync_ReceiverAnswers500_IsNotDeliveredAndSaysSo()
    {
        _receiver.Answer = _ => 500;
        using var sender = Sender();

        var result = await sender.SendAsync(Delivery(), "{}"u8.ToArray(), default);

        Assert.False(result.Delivered);
        Assert.Equal(500, result.Status);
        Assert.Contains("500", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_ReceiverRedirects_IsNotFollowed()
    {
        _receiver.Answer = _ => 307;
        using var sender = Sender();

        var result = await sender.SendAsync(Delivery(), "{}"u8.ToArray(), default);

        Assert.False(result.Delivered);
        Assert.Equal(307, result.Status);
        Assert.Single(_receiver.Received);
    }

    [Fact]
    public async Task SendAsync_AllowedNameResolvingToLoopback_IsRefusedWithoutConnecting()
    {
        // DNS rebinding: the host is allowed by name, and its DNS answer points into the server's own loopback.
        var resolver = new FixedResolver { ["hooks.test"] = [IPAddress.Loopback] };
        using var sender = Sender(resolver, allowed: $"hooks.test:{_receiver.Port}");

        var result = await sender.SendAsync(Delivery($"http://hooks.test:{_receiver.Port}/hook"), "{}"u8.ToArray(), default);

        Assert.False(result.Delivered);
        Assert.Null(result.Status);
        Assert.Contains("loopback", result.Error, StringComparison.Ordinal);
        Assert.Equal(["hooks.test"], resolver.Asked);
        Assert.Empty(_receiver.Received);
    }

    [Fact]
    public async Task SendAsync_NameWithOneMetadataAddressAmongPublicOnes_IsRefused()
    {
        var resolver = new FixedResolver { ["hooks.test"] = [IPAddress.Parse("93.184.216.34"), IPAddress.Parse("::ffff:169.254.169.254")] };
        using var sender = Sender(resolver, allowPrivate: true, allowed: "hooks.test");

        var result = await sender.SendAsync(Delivery("https://hooks.test/hook"), "{}"u8.ToArray(), default);

        Assert.Null(result.Status);
        Assert.Contains("link-local", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_HostNoLongerAllowed_IsRefused()
    {
        using var sender = Sender(allowed: "hooks.example.com");

        var result = await sender.SendAsync(Delivery(), "{}"u8.ToArray(), default);

        Assert.Null(result.Status);
        Assert.Contains("Webhooks:AllowedHosts", result.Error, StringComparison.Ordinal);
        Assert.Empty(_receiver.Received);
    }

    [Fact]
    public async Task SendAsync_NothingListening_FailsWithTheReason()
    {
        var port = _receiver.Port;
        await _receiver.DisposeAsync();
        _receiver = await LoopbackReceiver.StartAsync(); // another port; the old one is closed
        using var sender = Sender(allowed: $"127.0.0.1:{port}");

        var result = await sender.SendAsync(Delivery($"http://127.0.0.1:{port}/hook"), "{}"u8.ToArray(), default);

        Assert.Null(result.Status);
        Assert.StartsWith("the request failed", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_ReceiverSilentPastTheTimeout_FailsAsATimeout()
    {
        var release = new TaskCompletionSource();
        _receiver.Hold = _ => release.Task;
        var time = new FakeTimeProvider();
        using var sender = Sender(time: time);

        var sending = sender.SendAsync(Delivery(), "{}"u8.ToArray(), default);
        await _receiver.WaitForAsync(1);
        time.Advance(TimeSpan.FromSeconds(5));
        var result = await sending;
        release.SetResult();

        Assert.Null(result.Status);
        Assert.Contains("no answer within 5 s", result.Error, StringComparison.Ordinal);
    }
}

/// <summary>A resolver with fixed answers, recording what it was asked.</summary>
internal sealed class FixedResolver : Dictionary<string, IPAddress[]>, IHostResolver
{
    public List<string> Asked { get; } = [];

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        lock (Asked)
        {
            Asked.Add(host);
        }
        return Task.FromResult(TryGetValue(host, out var addresses) ? addresses : throw new System.Net.Sockets.SocketException(11001));
    }
}
