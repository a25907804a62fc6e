using System.Text;
using System.Text.Json;
using Berth.Server.Configuration;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Berth.Server.Jobs;

/// <summary>The JSON form of a submission.</summary>
public sealed record SubmitJobRequest(string? Dockerfile, string? Name, LimitsRequest? Limits);

/// <summary>Requested limits; each may be left out to get the server's default.</summary>
public sealed record LimitsRequest(int? TimeoutSeconds, int? MemoryMb, double? Cpus, int? DataMb = null);

/// <summary>A submission read from any of the three request forms. <see cref="Context"/> is the raw archive, if any.</summary>
public sealed record JobSubmission(string? Dockerfile, Stream? Context, string? Name, LimitsRequest Limits)
{
    private const int MaxJsonBytes = 8 * 1024 * 1024;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads <c>text/plain</c>, <c>application/json</c> or <c>multipart/form-data</c>; throws <see cref="RequestRejectedException"/>.</summary>
    public static async Task<JobSubmission> ReadAsync(HttpRequest request, LimitsOptions limits, CancellationToken cancellationToken)
    {
        var maxContext = limits.MaxContextMb * 1024L * 1024L;
        if (request.ContentLength is { } length && length > maxContext + 4 * 1024 * 1024)
        {
            throw new RequestRejectedException(413, $"the request body is {length} bytes; the context limit is {limits.MaxContextMb} MiB (Limits:MaxContextMb)");
        }
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType))
        {
            throw new RequestRejectedException(415, "send the Dockerfile as text/plain, application/json or multipart/form-data");
        }
        try
        {
            return mediaType.MediaType.Value?.ToLowerInvariant() switch
            {
                "text/plain" or "application/octet-stream" or "text/x-dockerfile" =>
                    new JobSubmission(await ReadDockerfileAsync(request.Body, cancellationToken), null, null, new LimitsRequest(null, null, null)),
                "application/json" => await ReadJsonAsync(request.Body, cancellationToken),
                "multipart/form-data" => await ReadMultipartAsync(request, maxContext, cancellationToken),
                _ => throw new RequestRejectedException(415, $"unsupported content type '{mediaType.MediaType}': use text/plain, application/json or multipart/form-data"),
            };
        }
        catch (BadHttpRequestException e)
        {
            throw new RequestRejectedException(e.StatusCode is 413 ? 413 : 400, e.StatusCode is 413
                ? $"the request body is larger than the server accepts (context limit {limits.MaxContextMb} MiB)"
                : $"the request could not be read: {e.Message}");
        }
        catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            throw new RequestRejectedException(413, $"a multipart section is larger than the server accepts: {e.Message}");
        }
        catch (InvalidDataException e)
        {
            throw new RequestRejectedException(400, $"the multipart body could not be read: {e.Message}");
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new RequestRejectedException(400, $"the request body could not be read: {e.Message}");
        }
    }

    /// <summary>Checks the Dockerfile text: present, not blank, at most 1 MiB.</summary>
    public static string CheckDockerfile(string? text)
    {
        if (text is null)
        {
            throw new RequestRejectedException(400, "no Dockerfile: send it as the text/plain body, the JSON field 'dockerfile' or a multipart part 'dockerfile'", "dockerfile");
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new RequestRejectedException(400, "the Dockerfile is empty", "dockerfile");
        }
        if (Encoding.UTF8.GetByteCount(text) > Contexts.BuildContextPacker.MaxDockerfileBytes)
        {
            throw new RequestRejectedException(422, "the Dockerfile exceeds 1 MiB", "dockerfile");
        }
        return text;
    }

    private static async Task<string> ReadDockerfileAsync(Stream body, CancellationToken cancellationToken)
    {
        var bytes = await ReadCappedAsync(body, Contexts.BuildContextPacker.MaxDockerfileBytes, cancellationToken)
            ?? throw new RequestRejectedException(422, "the Dockerfile exceeds 1 MiB", "dockerfile");
        return Decode(bytes);
    }

    private static string Decode(byte[] bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new RequestRejectedException(400, "the Dockerfile is not valid UTF-8 text", "dockerfile");
        }
    }

    private static async Task<JobSubmission> ReadJsonAsync(Stream body, CancellationToken cancellationToken)
    {
        var bytes = await ReadCappedAsync(body, MaxJsonBytes, cancellationToken)
            ?? throw new RequestRejectedException(413, $"the JSON body exceeds {MaxJsonBytes / (1024 * 1024)} MiB");
        SubmitJobRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<SubmitJobRequest>(bytes, JobJson.Options);
        }
        catch (JsonException e)
        {
            var where = e.Path is { Length: > 0 } path ? $" at {path}" : "";
            throw new RequestRejectedException(400, $"the body is not valid JSON for a job{where}: {FirstSentence(e.Message)}");
        }
        if (request is null)
        {
            throw new RequestRejectedException(400, "the JSON body must be an object like {\"dockerfile\": \"FROM ...\"}");
        }
        return new JobSubmission(request.Dockerfile, null, request.Name, request.Limits ?? new LimitsRequest(null, null, null));
    }

    private static async Task<JobSubmission> ReadMultipartAsync(HttpRequest request, long maxContext, CancellationToken cancellationToken)
    {
        var form = await request.ReadFormAsync(new FormOptions
        {
            MultipartBodyLengthLimit = maxContext + 2 * 1024 * 1024,
            ValueLengthLimit = Contexts.BuildContextPacker.MaxDockerfileBytes + 1,
        }, cancellationToken);

        string? dockerfile = null;
        if (form.Files.GetFile("dockerfile") is { } file)
        {
            if (file.Length > Contexts.BuildContextPacker.MaxDockerfileBytes)
            {
                throw new RequestRejectedException(422, "the Dockerfile exceeds 1 MiB", "dockerfile");
            }
            await using var stream = file.OpenReadStream();
            dockerfile = Decode(await ReadCappedAsync(stream, Contexts.BuildContextPacker.MaxDockerfileBytes, cancellationToken) ?? []);
        }
        else if (form.TryGetValue("dockerfile", out var field))
        {
            dockerfile = field.ToString();
        }

        Stream? context = null;
        if (form.Files.GetFile("context") is { } archive)
        {
            if (archive.Length > maxContext)
            {
                throw new RequestRejectedException(413, $"the context archive is {archive.Length} bytes; the limit is {maxContext / (1024 * 1024)} MiB (Limits:MaxContextMb)", "context");
            }
            context = archive.OpenReadStream();
        }
        else if (form.ContainsKey("context"))
        {
            throw new RequestRejectedException(400, "the 'context' part must be a file (a .tar or .tar.gz archive)", "context");
        }

        var name = form.TryGetValue("name", out var n) ? n.ToString() : null;
        var limits = new LimitsRequest(
            ParseNumber<int>(form, "timeoutSeconds"),
            ParseNumber<int>(form, "memoryMb"),
            ParseNumber<double>(form, "cpus"),
            ParseNumber<int>(form, "dataMb"));
        return new JobSubmission(dockerfile, context, name, limits);
    }

    private static T? ParseNumber<T>(IFormCollection form, string key) where T : struct, IParsable<T>
    {
        if (!form.TryGetValue(key, out var raw) || string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }
        return T.TryParse(raw.ToString(), System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new RequestRejectedException(400, $"'{key}' must be a number, got '{Short(raw.ToString())}'", $"limits.{key}");
    }

    /// <summary>Reads at most <paramref name="max"/> bytes; null when the stream holds more.</summary>
    private static async Task<byte[]?> ReadCappedAsync(Stream body, int max, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var n = await body.ReadAsync(chunk, cancellationToken);
            if (n == 0)
            {
                return buffer.ToArray();
            }
            if (buffer.Length + n > max)
            {
                return null;
            }
            buffer.Write(chunk, 0, n);
        }
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut < 0 ? message : message[..cut];
    }

    private static string Short(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
