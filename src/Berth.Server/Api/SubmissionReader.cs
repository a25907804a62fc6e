using System.Text;
using Berth.Server.Configuration;
using Berth.Server.Contexts;
using Berth.Server.Errors;
using Berth.Server.Submissions;
using Microsoft.Net.Http.Headers;
using Berth.Scanner;

namespace Berth.Server.Api;

/// <summary>Reads a <see cref="JobSubmission"/> from a request body: <c>text/plain</c>, <c>application/json</c> or <c>multipart/form-data</c>.</summary>
public static class SubmissionReader
{
    private const int MaxJsonBytes = 8 * 1024 * 1024;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the submission; throws <see cref="RequestRejectedException"/>.</summary>
    public static async Task<JobSubmission> ReadAsync(HttpRequest request, LimitsOptions limits, CancellationToken cancellationToken)
    {
        var maxContext = Units.Mebibytes(limits.MaxContextMb);
        if (request.ContentLength is { } length && length > maxContext + 4 * 1024 * 1024)
        {
            throw new RequestRejectedException(Rejection.TooLarge, $"the request body is {length} bytes; the context limit is {limits.MaxContextMb} MiB (Limits:MaxContextMb)");
        }
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType))
        {
            throw new RequestRejectedException(Rejection.UnsupportedMediaType, "send the Dockerfile as text/plain, application/json or multipart/form-data");
        }
        try
        {
            return mediaType.MediaType.Value?.ToLowerInvariant() switch
            {
                "text/plain" or "application/octet-stream" or "text/x-dockerfile" =>
                    new JobSubmission(await ReadDockerfileAsync(request.Body, cancellationToken), null, null, new LimitsRequest(null, null, null)),
                "application/json" => await ReadJsonAsync(request.Body, cancellationToken),
                "multipart/form-data" => await SubmissionForm.ReadAsync(request, maxContext, cancellationToken),
                _ => throw new RequestRejectedException(Rejection.UnsupportedMediaType, $"unsupported content type '{mediaType.MediaType}': use text/plain, application/json or multipart/form-data"),
            };
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new RequestRejectedException(Rejection.TooLarge, $"the request body is larger than the server accepts (context limit {limits.MaxContextMb} MiB)");
        }
        catch (BadHttpRequestException e)
        {
            throw new RequestRejectedException(Rejection.BadRequest, $"the request could not be read: {e.Message}");
        }
        catch (InvalidDataException e) when (IsFormLimit(e))
        {
            throw new RequestRejectedException(Rejection.TooLarge, $"a multipart section is larger than the server accepts: {e.Message}");
        }
        catch (InvalidDataException e)
        {
            throw new RequestRejectedException(Rejection.BadRequest, $"the multipart body could not be read: {e.Message}");
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new RequestRejectedException(Rejection.BadRequest, $"the request body could not be read: {e.Message}");
        }
    }

    /// <summary>
    /// Whether ASP.NET Core's form reader refused the body for one of the <c>FormOptions</c> limits (section length,
    /// header count or length, boundary length, value count). The framework has no type for these: it throws a plain
    /// <see cref="InvalidDataException"/> whose message reads "… limit N exceeded.", so its text is all there is to go on.
    /// Berth's own code never throws InvalidDataException on this path; it throws <see cref="RequestRejectedException"/>.
    /// </summary>
    private static bool IsFormLimit(InvalidDataException e) => e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase);

    private static async Task<string> ReadDockerfileAsync(Stream body, CancellationToken cancellationToken)
    {
        var bytes = await ReadCappedAsync(body, BuildContextPacker.MaxDockerfileBytes, cancellationToken)
            ?? throw new RequestRejectedException(Rejection.Unprocessable, "the Dockerfile exceeds 1 MiB", "dockerfile");
        return Decode(bytes);
    }

    internal static string Decode(byte[] bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new RequestRejectedException(Rejection.BadRequest, "the Dockerfile is not valid UTF-8 text", "dockerfile");
        }
    }

    private static async Task<JobSubmission> ReadJsonAsync(Stream body, CancellationToken cancellationToken)
    {
        var bytes = await ReadCappedAsync(body, MaxJsonBytes, cancellationToken)
            ?? throw new RequestRejectedException(Rejection.TooLarge, $"the JSON body exceeds {Units.ToMebibytes(MaxJsonBytes)} MiB");
        return SubmissionJson.Read(bytes);
    }

    /// <summary>Reads at most <paramref name="max"/> bytes; null when the stream holds more.</summary>
    internal static async Task<byte[]?> ReadCappedAsync(Stream body, int max, CancellationToken cancellationToken)
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
}
