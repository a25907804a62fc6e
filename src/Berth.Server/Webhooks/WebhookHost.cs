using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Berth.Server.Webhooks;

/// <summary>
/// One entry of <c>Webhooks:AllowedHosts</c>: a host name (compared exactly, ignoring letter case) or an IP literal
/// (<see cref="Address"/>), with an optional <see cref="Port"/>. Without a port only the scheme's default port matches.
/// </summary>
internal sealed record WebhookHost(string Host, IPAddress? Address, int? Port)
{
    /// <summary>Parses <c>host</c>, <c>host:port</c>, an IPv4 literal with or without a port, <c>::1</c> or <c>[::1]:port</c>.</summary>
    public static bool TryParse(string? entry, out WebhookHost host, out string error)
    {
        host = null!;
        error = "";
        var text = entry?.Trim() ?? "";
        if (text.Length == 0)
        {
            error = "is empty";
            return false;
        }
        string name;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"'{text}' has no closing ']'";
                return false;
            }
            name = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (!rest.StartsWith(':'))
                {
                    error = $"'{text}': only ':port' may follow ']'";
                    return false;
                }
                port = rest[1..];
            }
        }
        else if (text.Count(c => c == ':') > 1)
        {
            name = text; // a bare IPv6 literal, no port
        }
        else if (text.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0)
        {
            name = text[..colon];
            port = text[(colon + 1)..];
        }
        else
        {
            name = text;
        }

        int? portNumber = null;
        if (port is not null)
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
            {
                error = $"'{text}' has an invalid port (1-65535)";
                return false;
            }
            portNumber = number;
        }
        if (IPAddress.TryParse(name, out var address) && (address.AddressFamily == AddressFamily.InterNetworkV6 || name.Count(c => c == '.') == 3))
        {
            host = new WebhookHost(address.ToString(), WebhookAddresses.Normalize(address), portNumber);
            return true;
        }
        if (Uri.CheckHostName(name) != UriHostNameType.Dns || name.Contains('*', StringComparison.Ordinal))
        {
            error = $"'{text}' is neither a host name nor an IP literal (wildcards are not supported)";
            return false;
        }
        host = new WebhookHost(name.TrimEnd('.').ToLowerInvariant(), null, portNumber);
        return true;
    }

    /// <summary>The parsed entries of <paramref name="entries"/>; those that do not parse are left out (start-up validation refuses them).</summary>
    public static IReadOnlyList<WebhookHost> ParseAll(IEnumerable<string> entries) =>
        entries.Select(e => TryParse(e, out var host, out _) ? host : null).OfType<WebhookHost>().ToList();

    /// <summary>The first entry that allows <paramref name="url"/>'s host and port, or null.</summary>
    public static WebhookHost? Match(IReadOnlyList<WebhookHost> allowed, Uri url) => allowed.FirstOrDefault(entry => entry.Allows(url));

    public bool Allows(Uri url)
    {
        var port = Port ?? (url.Scheme == Uri.UriSchemeHttps ? 443 : 80);
        if (url.Port != port)
        {
            return false;
        }
        if (url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            return Address is not null && IPAddress.TryParse(url.IdnHost.Trim('[', ']'), out var literal) && WebhookAddresses.Normalize(literal).Equals(Address);
        }
        return Address is null && string.Equals(url.IdnHost.TrimEnd('.'), Host, StringComparison.OrdinalIgnoreCase);
    }

    public override string ToString() => Port is { } port ? (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{port}" : $"{Host}:{port}") : Host;
}
