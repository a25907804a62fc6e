using System.Net;
using System.Net.Sockets;

namespace Berth.Server.Webhooks;

/// <summary>
/// Which addresses a delivery may connect to. Checked on every address a host resolves to, at send time: a host
/// allowed by name that resolves into the server's own or its cloud's services (DNS rebinding) is refused.
/// </summary>
internal static class WebhookAddresses
{
    /// <summary>An IPv4-mapped IPv6 address (<c>::ffff:127.0.0.1</c>) as the IPv4 address it is; any other as it is.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>
    /// Why <paramref name="address"/> is refused, or null when a delivery may connect to it. Refused always: unspecified,
    /// loopback, link-local (169.254/16 and fe80::/10, where cloud metadata lives), multicast, broadcast and reserved; refused
    /// unless <paramref name="allowPrivate"/>: RFC 1918, CGNAT (100.64/10) and IPv6 unique-local (fc00::/7, and the old
    /// site-local fec0::/10). An address equal to <paramref name="allowedLiteral"/> (the allow-list entry that admitted
    /// the URL, when that entry is an IP literal) is allowed whatever it is: the operator named it.
    /// </summary>
    public static string? Refusal(IPAddress address, bool allowPrivate, IPAddress? allowedLiteral)
    {
        var ip = Normalize(address);
        if (allowedLiteral is not null && ip.Equals(Normalize(allowedLiteral)))
        {
            return null;
        }
        var kind = ip.AddressFamily == AddressFamily.InterNetwork ? ClassifyV4(ip.GetAddressBytes()) : ClassifyV6(ip);
        if (kind is null && ip.AddressFamily == AddressFamily.InterNetworkV6 && NatEmbedded(ip) is { } embedded)
        {
            return Refusal(embedded, allowPrivate, allowedLiteral) is { } why ? $"{why} (embedded in {ip})" : null;
        }
        return kind switch
        {
            null => null,
            "private" or "carrier-grade NAT" or "unique-local" when allowPrivate => null,
            "private" or "carrier-grade NAT" or "unique-local" => $"{ip} is a {kind} address (set Webhooks:AllowPrivateNetworks to allow it)",
            _ => $"{ip} is a {kind} address",
        };
    }

    private static string? ClassifyV4(byte[] b) => b switch
    {
        [0, ..] => "unspecified",
        [127, ..] => "loopback",
        [169, 254, ..] => "link-local",
        [>= 224 and <= 239, ..] => "multicast",
        [255, 255, 255, 255] => "broadcast",
        [>= 240, ..] => "reserved",
        [10, ..] => "private",
        [172, >= 16 and <= 31, ..] => "private",
        [192, 168, ..] => "private",
        [100, >= 64 and <= 127, ..] => "carrier-grade NAT",
        _ => null,
    };

    private static string? ClassifyV6(IPAddress ip)
    {
        if (ip.Equals(IPAddress.IPv6Any))
        {
            return "unspecified";
        }
        if (ip.Equals(IPAddress.IPv6Loopback))
        {
            return "loopback";
        }
        var b = ip.GetAddressBytes();
        return b switch
        {
            [0xfe, >= 0x80 and <= 0xbf, ..] => "link-local",
            [0xfe, >= 0xc0, ..] => "unique-local",
            [0xff, ..] => "multicast",
            [>= 0xfc and <= 0xfd, ..] => "unique-local",
            _ => null,
        };
    }

    /// <summary>The IPv4 address inside an IPv4-compatible (::a.b.c.d) or NAT64 (64:ff9b::/96) address, or null.</summary>
    private static IPAddress? NatEmbedded(IPAddress ip)
    {
        var b = ip.GetAddressBytes();
        var compatible = b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0;
        var nat64 = b is [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ..];
        return compatible || nat64 ? new IPAddress(b.AsSpan(12, 4)) : null;
    }
}
