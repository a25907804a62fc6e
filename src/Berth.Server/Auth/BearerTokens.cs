using System.Security.Cryptography;
using System.Text;

namespace Berth.Server.Auth;

/// <summary>Bearer secrets (API keys, agent tokens) checked against their configured SHA-256, never stored in clear.</summary>
internal static class BearerTokens
{
    /// <summary>
    /// The index of the hash that <paramref name="token"/> hashes to, or -1. Every hash is compared, in constant time, so
    /// the answer's timing says nothing about which (or whether one) matched.
    /// </summary>
    public static int Match(string token, IReadOnlyList<byte[]> hashes)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(token.Trim()));
        var match = -1;
        for (var i = 0; i < hashes.Count; i++)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, hashes[i]))
            {
                match = i; // no early exit
            }
        }
        return match;
    }
}
