using System.ComponentModel.DataAnnotations;
using Berth.Server.Webhooks;

namespace Berth.Server.Configuration;

/// <summary>
/// Job webhooks (section <c>Webhooks</c>): where a submission's <c>callbackUrl</c> may point, the key its deliveries are
/// signed with, and how often and how long they are tried. With no <see cref="AllowedHosts"/> (the default) every
/// <c>callbackUrl</c> is refused.
/// </summary>
public sealed class WebhooksOptions : IValidatableObject
{
    public const string Section = "Webhooks";

    /// <summary>Shortest <see cref="Secret"/> accepted.</summary>
    public const int MinSecretLength = 16;

    /// <summary>HMAC-SHA256 key of <c>X-Berth-Signature</c>. Required once <see cref="AllowedHosts"/> has an entry.</summary>
    public string Secret { get; set; } = "";

    /// <summary>
    /// The hosts a <c>callbackUrl</c> may name: a host name (exact, any letter case) or an IP literal, each optionally
    /// with a port (<c>hooks.example.com</c>, <c>hooks.example.com:8443</c>, <c>127.0.0.1:9000</c>, <c>[::1]:9000</c>).
    /// Without a port an entry allows only the scheme's default port (80 for http, 443 for https).
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Attempts per delivery, the first included; then it is given up (and logged).</summary>
    [Range(1, 50)]
    public int MaxAttempts { get; set; } = 6;

    /// <summary>Wait after the first failed attempt; each later wait doubles, up to <see cref="MaxBackoffSeconds"/>.</summary>
    [Range(1, 86_400)]
    public int InitialBackoffSeconds { get; set; } = 30;

    [Range(1, 86_400)]
    public int MaxBackoffSeconds { get; set; } = 3600;

    /// <summary>Limit of one attempt: connect, send, and the receiver's status line and headers.</summary>
    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// Allows deliveries to private addresses (RFC 1918, CGNAT 100.64/10, IPv6 ULA fc00::/7). Loopback, link-local
    /// (cloud metadata), multicast and unspecified addresses stay refused unless an allowed entry is that IP literal.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>How often each API server looks for deliveries that are due.</summary>
    [Range(1, 300)]
    public int PollSeconds { get; set; } = 2;

    /// <summary>The wait after failed attempt <paramref name="attempt"/> (1-based): initial × 2^(attempt-1), capped.</summary>
    public TimeSpan BackoffAfter(int attempt)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var seconds = Math.Min((double)InitialBackoffSeconds * Math.Pow(2, exponent), MaxBackoffSeconds);
        return TimeSpan.FromSeconds(seconds);
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (AllowedHosts.Count > 0 && Secret.Length < MinSecretLength)
        {
            yield return new ValidationResult(
                $"Webhooks:Secret must be at least {MinSecretLength} characters when Webhooks:AllowedHosts has entries (deliveries are signed with it).");
        }
        for (var i = 0; i < AllowedHosts.Count; i++)
        {
            if (!WebhookHost.TryParse(AllowedHosts[i], out _, out var error))
            {
                yield return new ValidationResult($"Webhooks:AllowedHosts:{i} {error}.");
            }
        }
        if (MaxBackoffSeconds < InitialBackoffSeconds)
        {
            yield return new ValidationResult("Webhooks:MaxBackoffSeconds must be at least Webhooks:InitialBackoffSeconds.");
        }
    }
}
