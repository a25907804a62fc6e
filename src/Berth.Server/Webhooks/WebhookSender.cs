using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Berth.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Server.Webhooks;

/// <summary>What one attempt got: the receiver's HTTP status, if it answered, and when it did not succeed, why.</summary>
internal sealed record SendResult(int? Status, string? Error)
{
    public bool Delivered => Status is >= 200 and < 300;
}

/// <summary>
/// Sends one attempt of a delivery. The host is checked against <c>Webhooks:AllowedHosts</c> and resolved again on every
/// new connection; every address it resolves to must pass <see cref="WebhookAddresses.Refusal"/>, and the connection
/// goes to a vetted address only (<see cref="SocketsHttpHandler.ConnectCallback"/>), so no second DNS answer can swap
/// another in. No proxy (none from the environment either), no redirect, no cookies; the response body is not read
/// (at most a small drain to reuse the connection).
/// </summary>
internal sealed class WebhookSender : IDisposable
{
    private readonly WebhooksOptions _options;
    private readonly IReadOnlyList<WebhookHost> _allowed;
    private readonly IHostResolver _resolver;
    private readonly TimeProvider _time;
    private readonly HttpClient _client;

    public WebhookSender(IOptions<WebhooksOptions> options, IHostResolver resolver, TimeProvider time)
    {
        _options = options.Value;
        _allowed = WebhookHost.ParseAll(_options.AllowedHosts);
        _resolver = resolver;
        _time = time;
        _client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectCallback = ConnectAsync,
            ConnectTimeout = TimeSpan.FromSeconds(_options.TimeoutSeconds),
            MaxResponseHeadersLength = 16, // KiB
            MaxResponseDrainSize = 16 * 1024,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // each attempt has its own, on the TimeProvider
        };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Berth-Webhooks", "1"));
    }

    public async Task<SendResult> SendAsync(WebhookDelivery delivery, byte[] body, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(delivery.Url, UriKind.Absolute, out var url) || WebhookHost.Match(_allowed, url) is null)
        {
            return new SendResult(null, "the callback host is no longer in Webhooks:AllowedHosts");
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version11,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(body, _options.Secret));
        request.Headers.Add(WebhookSignature.DeliveryHeader, delivery.DeliveryId);
        request.Headers.Add(WebhookSignature.EventHeader, WebhookSignature.JobFinished);
        request.Headers.Add(WebhookSignature.AttemptHeader, delivery.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.TimeoutSeconds), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var status = (int)response.StatusCode;
            return new SendResult(status, status is >= 200 and < 300 ? null : $"the receiver answered {status}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The attempt's own timeout, or the handler's connect timeout (the same length) firing first: either way
            // the attempt failed and is recorded, never thrown away uncounted.
            return new SendResult(null, $"no answer within {_options.TimeoutSeconds} s (Webhooks:TimeoutSeconds)");
        }
        catch (HttpRequestException e) when (Refusal(e) is { } refused)
        {
            return new SendResult(null, refused.Message);
        }
        catch (HttpRequestException e)
        {
            return new SendResult(null, $"the request failed: {Innermost(e).Message}");
        }
    }

    /// <summary>Resolves the host again, refuses it when any address it has is refused, and connects to a vetted one.</summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var url = context.InitialRequestMessage.RequestUri!;
        var entry = WebhookHost.Match(_allowed, url) ?? throw new WebhookRefusedException($"{url.Authority} is not in Webhooks:AllowedHosts");
        var host = context.DnsEndPoint.Host.Trim('[', ']');
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await ResolveAsync(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new WebhookRefusedException($"{host} has no address");
        }
        foreach (var address in addresses)
        {
            if (WebhookAddresses.Refusal(address, _options.AllowPrivateNetworks, entry.Address) is { } why)
            {
                throw new WebhookRefusedException($"refused to connect to {host}: {why}");
            }
        }
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }
        throw last!;
    }

    private async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        try
        {
            return await _resolver.ResolveAsync(host, cancellationToken);
        }
        catch (SocketException e)
        {
            throw new WebhookRefusedException($"{host} could not be resolved: {e.Message}");
        }
    }

    private static WebhookRefusedException? Refusal(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is WebhookRefusedException refused)
            {
                return refused;
            }
        }
        return null;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e;
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>A delivery the sender refused to make: the host is not allowed, or resolves to an address it may not reach.</summary>
internal sealed class WebhookRefusedException(string message) : Exception(message);
