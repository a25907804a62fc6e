using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Server.Tests.Api;

/// <summary>
/// API keys for in-process servers: <c>alice</c> and <c>bob</c> (users) and <c>ops</c> (admin), each holding the key
/// <c>&lt;owner&gt;-key</c>; Berth is configured with their SHA-256 hashes, as an operator would.
/// </summary>
internal static class TestKeys
{
    public static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key))).ToLowerInvariant();

    /// <summary>The <c>Auth:Keys</c> settings of the three owners, with <paramref name="more"/> settings added.</summary>
    public static Dictionary<string, string> Settings(IReadOnlyDictionary<string, string>? more = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Auth:Keys:0:Owner"] = "alice", ["Auth:Keys:0:Role"] = "user", ["Auth:Keys:0:Sha256"] = Hash("alice-key"),
            ["Auth:Keys:1:Owner"] = "bob", ["Auth:Keys:1:Role"] = "user", ["Auth:Keys:1:Sha256"] = Hash("bob-key"),
            ["Auth:Keys:2:Owner"] = "ops", ["Auth:Keys:2:Role"] = "admin", ["Auth:Keys:2:Sha256"] = Hash("ops-key"),
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }
        return settings;
    }

    /// <summary>A client of <paramref name="server"/> sending <paramref name="key"/> (none when null).</summary>
    public static HttpClient As(BerthApiFactory server, string? key)
    {
        var client = server.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }
}
