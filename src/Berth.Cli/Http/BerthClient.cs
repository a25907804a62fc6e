using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Cli.Jobs;

namespace Berth.Cli.Http;

/// <summary>The limits a submission asks for; null means the server's default.</summary>
public sealed record SubmitLimits(int? TimeoutSeconds, int? MemoryMb);

/// <summary>
/// The Berth HTTP API (<c>/api/v1/jobs</c>) as the CLI uses it. Every failure is a <see cref="BerthApiException"/>
/// whose message says what went wrong: the server unreachable, or its status and ProblemDetails title and detail.
/// </summary>
public sealed class BerthClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(100);
    private static readonly TimeSpan UploadTimeout = TimeSpan.FromMinutes(30);
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;

    public BerthClient(Uri server, string? token, HttpMessageHandler? handler = null)
    {
        Server = server;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            BaseAddress = new Uri(server.AbsoluteUri.TrimEnd('/') + "/"),
            Timeout = Timeout.InfiniteTimeSpan, // per request below; the streams have none
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("berth-cli", "1"));
        if (!string.IsNullOrEmpty(token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public Uri Server { get; }

    public void Dispose() => _http.Dispose();

    /// <summary>A submission without a context: JSON.</summary>
    public async Task<JobView> SubmitAsync(string dockerfile, string? name, SubmitLimits limits, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object?> { ["dockerfile"] = dockerfile };
        if (name is not null)
        {
            body["name"] = name;
        }
        var given = new Dictionary<string, int>();
        if (limits.TimeoutSeconds is { } timeout)
        {
            given["timeoutSeconds"] = timeout;
        }
        if (limits.MemoryMb is { } memory)
        {
            given["memoryMb"] = memory;
        }
        if (given.Count > 0)
        {
            body["limits"] = given;
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/jobs")
        {
            Content = new StringContent(JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/json"),
        };
        return await ReadJobAsync(request, UploadTimeout, cancellationToken);
    }

    /// <summary>A submission with a context archive (.tar or .tar.gz): multipart, the parts SubmissionForm reads.</summary>
    public async Task<JobView> SubmitAsync(string dockerfile, Stream context, string contextFileName, string? name, SubmitLimits limits, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(dockerfile)), "dockerfile", "Dockerfile");
        var archive = new StreamContent(context, 64 * 1024);
        archive.Headers.ContentType = new MediaTypeHeaderValue(contextFileName.EndsWith(".tar", StringComparison.Ordinal) ? "application/x-tar" : "application/gzip");
        form.Add(archive, "context", contextFileName);
        if (name is not null)
        {
            form.Add(new StringContent(name, Encoding.UTF8), "name");
        }
        if (limits.TimeoutSeconds is { } timeout)
        {
            form.Add(new StringContent(timeout.ToString(CultureInfo.InvariantCulture)), "timeoutSeconds");
        }
        if (limits.MemoryMb is { } memory)
        {
            form.Add(new StringContent(memory.ToString(CultureInfo.InvariantCulture)), "memoryMb");
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/jobs") { Content = form };
        return await ReadJobAsync(request, UploadTimeout, cancellationToken);
    }

    public async Task<JobView> GetAsync(string id, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/jobs/{Uri.EscapeDataString(id)}");
        return await ReadJobAsync(request, RequestTimeout, cancellationToken);
    }

    public async Task<JobView> CancelAsync(string id, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/v1/jobs/{Uri.EscapeDataString(id)}/cancel");
        return await ReadJobAsync(request, RequestTimeout, cancellationToken);
    }

    public async Task<JobPage> ListAsync(string? status, int? limit, string? after, CancellationToken cancellationToken)
    {
        var query = new List<string>();
        if (status is not null)
        {
            query.Add("status=" + Uri.EscapeDataString(status));
        }
        if (limit is { } n)
        {
            query.Add("limit=" + n.ToString(CultureInfo.InvariantCulture));
        }
        if (after is not null)
        {
            query.Add("after=" + Uri.EscapeDataString(after));
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/jobs" + (query.Count > 0 ? "?" + string.Join('&', query) : ""));
        var json = await ReadJsonAsync(request, RequestTimeout, cancellationToken);
        var page = json.Deserialize<JobPage>(Json) ?? throw Malformed("a job page");
        var items = json.GetProperty("items").EnumerateArray().Zip(page.Items, (element, view) => view with { Json = element }).ToList();
        return page with { Items = items, Json = json };
    }

    /// <summary>The report as the server gives it: <c>json</c> (lint and scan findings), <c>sarif</c> or <c>cyclonedx</c>.</summary>
    public async Task<string> ReportAsync(string id, string format, CancellationToken cancellationToken)
    {
        var query = format == "json" ? "" : "?format=" + Uri.EscapeDataString(format);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/jobs/{Uri.EscapeDataString(id)}/report{query}");
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, RequestTimeout, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>
    /// Copies the job's log to <paramref name="output"/>; with <paramref name="follow"/>, as it is written until the job
    /// ends (<c>?follow=true</c>; a server without it sends what there is and ends). <paramref name="wholeLines"/>: write
    /// only complete lines (the rest at the end), so that a log shares stderr with progress lines without cutting them.
    /// </summary>
    public async Task CopyLogsAsync(string id, bool follow, TextWriter output, bool wholeLines, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/jobs/{Uri.EscapeDataString(id)}/logs" + (follow ? "?follow=true" : ""));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, follow ? null : RequestTimeout, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(body, Encoding.UTF8);
        var buffer = new char[16 * 1024];
        var pending = new StringBuilder();
        try
        {
            while (await reader.ReadAsync(buffer, cancellationToken) is var n and > 0)
            {
                if (!wholeLines)
                {
                    await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                    await output.FlushAsync(cancellationToken); // a live log shows each chunk as it comes
                    continue;
                }
                pending.Append(buffer, 0, n);
                var text = pending.ToString();
                var end = text.LastIndexOf('\n');
                if (end >= 0)
                {
                    await output.WriteAsync(text[..(end + 1)]);
                    await output.FlushAsync(cancellationToken);
                    pending.Remove(0, end + 1);
                }
            }
        }
        catch (HttpRequestException e)
        {
            throw new BerthApiException($"the log stream from {Server} broke off: {e.Message}", null, e);
        }
        finally
        {
            if (pending.Length > 0)
            {
                await output.WriteLineAsync(pending.ToString());
            }
        }
    }

    /// <summary>
    /// The job's event stream (<c>GET /api/v1/jobs/{id}/events</c>); null when this server has no such route (404 or
    /// 405 before the stream, or an answer that is not <c>text/event-stream</c>): the caller polls instead.
    /// </summary>
    public async Task<HttpResponseMessage?> OpenEventsAsync(string id, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/jobs/{Uri.EscapeDataString(id)}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        finally
        {
            request.Dispose();
        }
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed
            || (response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType != "text/event-stream"))
        {
            response.Dispose();
            return null;
        }
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await ErrorOf(response, cancellationToken);
            }
        }
        return response;
    }

    /// <summary>Parses a job view (from a response or an event) and keeps its JSON.</summary>
    public static JobView ParseJob(JsonElement json) =>
        (json.Deserialize<JobView>(Json) ?? throw Malformed("a job")) with { Json = json };

    private async Task<JobView> ReadJobAsync(HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken) =>
        ParseJob(await ReadJsonAsync(request, timeout, cancellationToken));

    private async Task<JsonElement> ReadJsonAsync(HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new BerthApiException($"the server at {Server} answered {(int)response.StatusCode} with something that is not JSON ({e.Message}); is --server a Berth server?", response.StatusCode, e);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } limit)
        {
            deadline.CancelAfter(limit);
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, deadline.Token);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BerthApiException($"the server at {Server} did not answer within {timeout?.TotalSeconds:0} s", null, e);
        }
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await ErrorOf(response, cancellationToken);
            }
        }
        return response;
    }

    private BerthApiException Unreachable(HttpRequestException e)
    {
        var why = e.InnerException is SocketException socket ? socket.Message : e.Message;
        return new BerthApiException($"cannot reach the Berth server at {Server}: {why} (is it running? point --server or BERTH_SERVER at it)", null, e);
    }

    /// <summary>The error a non-2xx response stands for: status, ProblemDetails title and detail, and what to do about 401/403.</summary>
    private static async Task<BerthApiException> ErrorOf(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var text = "";
        try
        {
            text = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException)
        {
            // the body is only a better message; the status says enough
        }
        string? title = null, detail = null, field = null;
        try
        {
            using var problem = JsonDocument.Parse(text);
            if (problem.RootElement.ValueKind == JsonValueKind.Object)
            {
                title = Text(problem.RootElement, "title");
                detail = Text(problem.RootElement, "detail");
                field = Text(problem.RootElement, "field");
            }
        }
        catch (JsonException)
        {
            detail = text.Length is > 0 and < 300 && !text.Contains('<', StringComparison.Ordinal) ? text.Trim() : null;
        }
        var message = new StringBuilder().Append(status).Append(' ').Append(title ?? response.ReasonPhrase ?? "error");
        if (detail is not null)
        {
            message.Append(": ").Append(detail);
        }
        if (field is not null)
        {
            message.Append(" (field: ").Append(field).Append(')');
        }
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            message.Append(response.RequestMessage?.Headers.Authorization is null
                ? " — this server wants an API key: pass --token or set BERTH_TOKEN"
                : " — check the API key given with --token or BERTH_TOKEN");
        }
        if (response.Headers.RetryAfter?.Delta is { } retry)
        {
            message.Append(CultureInfo.InvariantCulture, $" (retry in {retry.TotalSeconds:0} s)");
        }
        return new BerthApiException(message.ToString(), response.StatusCode);
    }

    private static string? Text(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static BerthApiException Malformed(string what) => new($"the server's answer is not {what}");
}
