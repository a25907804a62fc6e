using System.Security.Cryptography;
using System.Text;

namespace Berth.Server.Webhooks;

/// <summary>The headers of a delivery and its signature: <c>sha256=</c> and the lower-case hex HMAC-SHA256 of the exact body bytes.</summary>
internal static class WebhookSignature
{
    public const string SignatureHeader = "X-Berth-Signature";
    public const string DeliveryHeader = "X-Berth-Delivery";
    public const string EventHeader = "X-Berth-Event";
    public const string AttemptHeader = "X-Berth-Attempt";

    /// <summary>The one event sent: the job reached a terminal status (succeeded, failed or canceled).</summary>
    public const string JobFinished = "job.finished";

    public static string Sign(ReadOnlySpan<byte> body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>Whether <paramref name="signature"/> is the signature of <paramref name="body"/>, compared in constant time (what a receiver does).</summary>
    public static bool Verify(ReadOnlySpan<byte> body, string secret, string? signature) =>
        signature is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(body, secret)), Encoding.ASCII.GetBytes(signature));
}
