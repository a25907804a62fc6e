using System.Net;
using Berth.Server.Configuration;
using Berth.Server.Logging;

namespace Berth.Server.Auth;

/// <summary>Checked before the server starts: it runs as root, and with no API keys it listens on loopback only.</summary>
public static class ListenGuard
{
    public static void Check(IConfiguration configuration, AuthOptions auth, ILogger logger)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException(
                "Berth must run as root: it mounts a /data filesystem per job and gives job directories to the run uid.");
        }
        if (auth.Keys.Count > 0)
        {
            return;
        }
        var urls = (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>())
            .ToList();
        var open = urls.Where(u => !IsLoopback(u)).ToList();
        if (open.Count > 0)
        {
            throw new InvalidOperationException(
                $"no API keys are configured (Auth:Keys), so Berth only listens on loopback, but it was asked to listen on {string.Join(", ", open)}. " +
                "Configure Auth:Keys or listen on 127.0.0.1.");
        }
        Log.LoopbackOnly(logger, string.Join(", ", urls));
    }

    internal static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }
        return uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}
