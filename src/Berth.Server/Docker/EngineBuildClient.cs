using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Berth.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Server.Docker;

/// <summary>
/// <c>POST /build</c> with the parameters Docker.DotNet cannot send (<c>cgroupparent</c>, which is how
/// build containers get a pids limit). Build errors arrive only as <c>error</c> lines in the stream.
/// </summary>
public sealed class EngineBuildClient(IOptions<BerthOptions> options) : IDisposable
{
    private readonly HttpClient _http = Create(options.Value.DockerEndpoint);

    private static HttpClient Create(string endpoint)
    {
        var uri = new Uri(endpoint);
        if (uri.Scheme != "unix")
        {
            return new HttpClient { BaseAddress = new Uri($"http://{uri.Host}:{uri.Port}"), Timeout = Timeout.InfiniteTimeSpan };
        }
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(uri.AbsolutePath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://docker"), Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Streams the build; <paramref name="onMessage"/> sees every line in order. Canceling aborts the build.</summary>
    public async Task BuildAsync(Stream context, IReadOnlyDictionary<string, string?> query, Action<BuildMessage> onMessage, CancellationToken cancellationToken)
    {
        var queryString = string.Join('&', query.Where(q => q.Value is not null)
            .Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value!)}"));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/build?{queryString}") { Content = new StreamContent(context) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new EngineBuildException((int)response.StatusCode, ErrorOf(body) ?? body);
        }
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }
            try
            {
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                onMessage(new BuildMessage(Text(root, "stream"), Text(root, "status"), Text(root, "error")));
            }
            catch (JsonException)
            {
                onMessage(new BuildMessage(line + "\n", null, null));
            }
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? ErrorOf(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return Text(json.RootElement, "message");
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    public void Dispose() => _http.Dispose();
}
