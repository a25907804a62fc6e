using Berth.Server.Configuration;
using Berth.Server.Errors;
using Berth.Scanner;

namespace Berth.Server.Webhooks;

/// <summary>The check of a submission's <c>callbackUrl</c>: every refusal is a 400 naming the field <c>callbackUrl</c>.</summary>
internal static class CallbackUrls
{
    public const string Field = "callbackUrl";
    public const int MaxLength = 2048;

    /// <summary>The URL to deliver to, or null when none was given. Throws <see cref="RequestRejectedException"/> when it is refused.</summary>
    public static Uri? Check(string? text, WebhooksOptions options)
    {
        if (text is null)
        {
            return null;
        }
        if (text.Length > MaxLength)
        {
            throw Refused($"callbackUrl is longer than {MaxLength} characters");
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            || url.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
        {
            throw Refused($"callbackUrl must be an absolute http or https URL such as https://hooks.example.com/berth, got '{Ellipsis.Truncate(text, 80)}'");
        }
        if (url.UserInfo.Length > 0)
        {
            throw Refused("callbackUrl must not carry a user name or password (put a token in the path or query instead)");
        }
        if (options.AllowedHosts.Count == 0)
        {
            throw Refused("callbackUrl is refused: this server allows no webhook hosts (the operator lists them in Webhooks:AllowedHosts)");
        }
        if (WebhookHost.Match(WebhookHost.ParseAll(options.AllowedHosts), url) is null)
        {
            throw Refused($"callbackUrl host '{Ellipsis.Truncate(url.Authority, 80)}' is not in Webhooks:AllowedHosts (an entry without a port allows only port 80 for http and 443 for https)");
        }
        return url;
    }

    private static RequestRejectedException Refused(string message) => new(Rejection.BadRequest, message, Field);
}
