using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Berth.Server.Logging;

namespace Berth.Server.Agent;

/// <summary>How one request to the API ended.</summary>
public enum ApiOutcome
{
    /// <summary>2xx.</summary>
    Done,

    /// <summary>409: the lease is no longer this agent's.</summary>
    Stale,

    /// <summary>422 to a log chunk: it starts past the end of the server's log.</summary>
    Gap,

    /// <summary>No server answered (connection failed, timed out) or every one answered 5xx, 408 or 429: try again later.</summary>
    Unavailable,

    /// <summary>Any other answer (401, 400, 404, 413, ...): sending the same request again will not help.</summary>
    Refused,
}

/// <summary>An answer: its outcome, the body of a 200 (default for 204 and failures), and what went wrong otherwise.</summary>
public sealed record ApiReply<T>(ApiOutcome Outcome, T? Value = default, string? Problem = null)
{
    /// <summary>
    /// <see cref="ApiOutcome.Unavailable"/> because the API server answered 503 "Store unavailable": the server is up, its
    /// database cannot be reached.
    /// </summary>
    public bool DatabaseDown { get; init; }

    public ApiReply<TOther> As<TOther>() => new(Outcome, default, Problem) { DatabaseDown = DatabaseDown };
}

/// <summary>
/// The agent's side of <see cref="AgentProtocol"/>: one method per route, each sent with the agent token (and the lease
/// token where the route needs it). A request goes to the current server; when that one does not answer (or answers
/// 5xx), the same request goes to the next server at once, and the next requests start there. Never throws but for
/// <paramref name="cancellationToken"/>s: every failure is an <see cref="ApiOutcome"/>.
/// </summary>
public sealed class FleetClient : IDisposable
{
    /// <summary>The longest any request but a claim's wait or a context download may take.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    public static readonly TimeSpan ContextTimeout = TimeSpan.FromMinutes(5);

    private const int MaxProblemBytes = 4096;

    private readonly HttpClient _http;
    private readonly AgentSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger<FleetClient> _logger;
    private int _current;

    public FleetClient(AgentSettings settings, TimeProvider time, ILogger<FleetClient> logger)
    {
        _settings = settings;
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AllowAutoRedirect = false, // the agent token goes to the configured servers only
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // each request has its own
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("berth-agent", "1"));
    }

    /// <summary>The server the next request goes to first.</summary>
    public Uri CurrentServer => _settings.Servers[Volatile.Read(ref _current) % _settings.Servers.Count];

    public Task<ApiReply<ClaimResponse>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, AgentProtocol.Claim, () => Json(request), null, TimeSpan.FromSeconds(request.WaitSeconds) + RequestTimeout,
            ReadJsonAsync<ClaimResponse>, cancellationToken);

    /// <summary>
    /// Downloads the job's context tar to <paramref name="path"/> (replaced). Refused when it is over
    /// <paramref name="maxBytes"/> or cannot be written here (a full disk is not the network's failure).
    /// </summary>
    public Task<ApiReply<bool>> DownloadContextAsync(string jobId, long lease, string path, long maxBytes, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, AgentProtocol.Context(jobId), null, lease, ContextTimeout, async (response, token) =>
        {
            await using var body = await response.Content.ReadAsStreamAsync(token);
            await using var file = await LocalAsync(path, () => Task.FromResult(new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                Options = FileOptions.Asynchronous,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            })));
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, token)) > 0)
            {
                total += read;
                if (total > maxBytes)
                {
                    throw new InvalidDataException($"the context is larger than {maxBytes} bytes (Limits:MaxContextMb)");
                }
                await LocalAsync(path, async () =>
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), token);
                    return true;
                });
            }
            return true;
        }, cancellationToken);

    public Task<ApiReply<HeartbeatResponse>> HeartbeatAsync(string jobId, HeartbeatRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, AgentProtocol.Heartbeat(jobId), () => Json(request), null, RequestTimeout, ReadJsonAsync<HeartbeatResponse>, cancellationToken);

    public Task<ApiReply<LogAppendResponse>> AppendLogAsync(string jobId, long lease, JobLog log, long offset, ReadOnlyMemory<byte> data,
        CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"{AgentProtocol.Log(jobId, log)}?offset={offset.ToString(CultureInfo.InvariantCulture)}",
            () => Raw(new ReadOnlyMemoryContent(data), "application/octet-stream"), lease, RequestTimeout, ReadJsonAsync<LogAppendResponse>, cancellationToken);

    /// <summary>Uploads the file at <paramref name="path"/> (read again for each server tried).</summary>
    public Task<ApiReply<bool>> PutFileAsync(string jobId, long lease, JobFile file, string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, AgentProtocol.File(jobId, file),
            () => Raw(new StreamContent(File.OpenRead(path)), "application/json"), lease, ContextTimeout, Done, cancellationToken);

    public Task<ApiReply<bool>> PostResultAsync(string jobId, ResultRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, AgentProtocol.Result(jobId), () => Json(request), null, RequestTimeout, Done, cancellationToken);

    public Task<ApiReply<bool>> ReleaseAsync(string jobId, ReleaseRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, AgentProtocol.Release(jobId), () => Json(request), null, RequestTimeout, Done, cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task<ApiReply<T>> SendAsync<T>(HttpMethod method, string route, Func<HttpContent>? content, long? lease, TimeSpan timeout,
        Func<HttpResponseMessage, CancellationToken, Task<T?>> read, CancellationToken cancellationToken)
    {
        var reply = new ApiReply<T>(ApiOutcome.Unavailable, default, "no server configured");
        for (var tried = 0; tried < _settings.Servers.Count; tried++)
        {
            var index = Volatile.Read(ref _current);
            var server = _settings.Servers[index % _settings.Servers.Count];
            reply = await SendOnceAsync(server, method, route, content, lease, timeout, read, cancellationToken);
            if (reply.Outcome != ApiOutcome.Unavailable)
            {
                return reply;
            }
            Log.ServerUnavailable(_logger, server.ToString(), $"{method} {route}", reply.Problem ?? "");
            Interlocked.CompareExchange(ref _current, (index + 1) % _settings.Servers.Count, index);
        }
        return reply;
    }

    private async Task<ApiReply<T>> SendOnceAsync<T>(Uri server, HttpMethod method, string route, Func<HttpContent>? content, long? lease,
        TimeSpan timeout, Func<HttpResponseMessage, CancellationToken, Task<T?>> read, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(server.AbsoluteUri.TrimEnd('/') + route));
            request.Content = content?.Invoke();
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _settings.Token);
            if (lease is { } token)
            {
                request.Headers.Add(AgentProtocol.LeaseHeader, token.ToString(CultureInfo.InvariantCulture));
            }
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            if (response.IsSuccessStatusCode)
            {
                return new(ApiOutcome.Done, response.StatusCode == HttpStatusCode.NoContent ? default : await read(response, linked.Token));
            }
            var (problem, title) = await ProblemAsync(response, linked.Token);
            return (int)response.StatusCode switch
            {
                409 => new(ApiOutcome.Stale, default, problem),
                422 => new(ApiOutcome.Gap, default, problem),
                503 when title == Http.StoreUnavailable.Title => new(ApiOutcome.Unavailable, default, problem) { DatabaseDown = true },
                408 or 429 or >= 500 => new(ApiOutcome.Unavailable, default, problem),
                _ => new(ApiOutcome.Refused, default, problem),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(ApiOutcome.Unavailable, default, $"no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return new(ApiOutcome.Unavailable, default, e.Message);
        }
        catch (IOException e)
        {
            return new(ApiOutcome.Unavailable, default, e.Message);
        }
        catch (JsonException e)
        {
            return new(ApiOutcome.Refused, default, $"unusable answer: {e.Message}");
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            return new(ApiOutcome.Refused, default, e.Message);
        }
    }

    /// <summary>Runs a step on a local file: its I/O failure is this machine's, reported as an unusable answer (Refused), never retried as the network's.</summary>
    private static async Task<T> LocalAsync<T>(string path, Func<Task<T>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"cannot write {path}: {e.Message}", e);
        }
    }

    private static JsonContent Json<T>(T value) => JsonContent.Create(value, options: JobJson.Options);

    private static HttpContent Raw(HttpContent content, string type)
    {
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    private static async Task<T?> ReadJsonAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken) =>
        await response.Content.ReadFromJsonAsync<T>(JobJson.Options, cancellationToken) ?? throw new JsonException("the body is null");

    private static Task<bool> Done(HttpResponseMessage response, CancellationToken cancellationToken) => Task.FromResult(true);

    /// <summary>"HTTP 409: title: detail" from a ProblemDetails body (and its title), or the start of whatever else came.</summary>
    private static async Task<(string Problem, string? Title)> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = $"HTTP {(int)response.StatusCode}";
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxProblemBytes];
            var length = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            var text = System.Text.Encoding.UTF8.GetString(buffer, 0, length);
            try
            {
                using var json = JsonDocument.Parse(text);
                var title = json.RootElement.TryGetProperty("title", out var t) ? t.GetString() : null;
                var detail = json.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null;
                return (string.Join(": ", new[] { status, title, detail }.Where(s => !string.IsNullOrEmpty(s))), title);
            }
            catch (JsonException)
            {
                return (text.Length == 0 ? status : $"{status}: {Berth.Scanner.Ellipsis.Truncate(text, 200)}", null);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return (status, null);
        }
    }
}
