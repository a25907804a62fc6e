using System.Text;
using Berth.Server.Contexts;
using Berth.Server.Errors;

namespace Berth.Server.Submissions;

/// <summary>Requested limits; each may be left out to get the server's default.</summary>
public sealed record LimitsRequest(int? TimeoutSeconds, int? MemoryMb, double? Cpus, int? DataMb = null);

/// <summary>
/// A submission read from any of the three request forms. <see cref="Context"/> is the raw archive, if any;
/// <see cref="Cache"/> false means build even when an identical submission's image could be reused.
/// </summary>
public sealed record JobSubmission(string? Dockerfile, Stream? Context, string? Name, LimitsRequest Limits, bool Cache = true, string? CallbackUrl = null)
{
    /// <summary>Checks the Dockerfile text: present, not blank, at most 1 MiB.</summary>
    public static string CheckDockerfile(string? text)
    {
        if (text is null)
        {
            throw new RequestRejectedException(Rejection.BadRequest, "no Dockerfile: send it as the text/plain body, the JSON field 'dockerfile' or a multipart part 'dockerfile'", "dockerfile");
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new RequestRejectedException(Rejection.BadRequest, "the Dockerfile is empty", "dockerfile");
        }
        if (Encoding.UTF8.GetByteCount(text) > BuildContextPacker.MaxDockerfileBytes)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, "the Dockerfile exceeds 1 MiB", "dockerfile");
        }
        return text;
    }
}
