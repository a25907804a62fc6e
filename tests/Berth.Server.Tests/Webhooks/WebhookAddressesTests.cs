using System.Net;
using Berth.Server.Webhooks;

namespace Berth.Server.Tests.Webhooks;

public sealed class WebhookAddressesTests
{
    /// <summary>address, AllowPrivateNetworks, the allowing entry's IP literal (or ""), the refusal's kind ("" when allowed).</summary>
    public static TheoryData<string, bool, string, string> Cases => new()
    {
        { "93.184.216.34", false, "", "" },
        { "2606:4700:4700::1111", false, "", "" },
        { "127.0.0.1", false, "", "loopback" },
        { "127.8.9.10", true, "", "loopback" },
        { "::1", true, "", "loopback" },
        { "::ffff:127.0.0.1", false, "", "loopback" }, // IPv4-mapped IPv6
        { "::ffff:169.254.169.254", true, "", "link-local" },
        { "0.0.0.0", false, "", "unspecified" },
        { "::", false, "", "unspecified" },
        { "169.254.169.254", true, "", "link-local" }, // cloud metadata, even with private networks allowed
        { "fe80::1", true, "", "link-local" },
        { "224.0.0.1", true, "", "multicast" },
        { "ff02::1", true, "", "multicast" },
        { "255.255.255.255", true, "", "broadcast" },
        { "240.0.0.1", true, "", "reserved" },
        { "10.1.2.3", false, "", "private" },
        { "10.1.2.3", true, "", "" },
        { "172.16.0.1", false, "", "private" },
        { "172.31.255.255", false, "", "private" },
        { "172.32.0.1", false, "", "" },
        { "192.168.1.1", false, "", "private" },
        { "::ffff:192.168.1.1", false, "", "private" },
        { "100.64.0.1", false, "", "carrier-grade NAT" },
        { "100.64.0.1", true, "", "" },
        { "100.128.0.1", false, "", "" },
        { "fd12:3456::1", false, "", "unique-local" },
        { "fd12:3456::1", true, "", "" },
        { "64:ff9b::7f00:1", false, "", "loopback" }, // NAT64 of 127.0.0.1
        { "::7f00:1", false, "", "loopback" }, // IPv4-compatible 127.0.0.1
        { "127.0.0.1", false, "127.0.0.1", "" }, // the operator listed the literal
        { "::ffff:127.0.0.1", false, "127.0.0.1", "" },
        { "::1", false, "::1", "" },
        { "127.0.0.2", false, "127.0.0.1", "loopback" }, // only the listed literal itself
        { "169.254.169.254", false, "127.0.0.1", "link-local" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Refusal_Address_IsAllowedOrRefusedWithItsKind(string address, bool allowPrivate, string literal, string kind)
    {
        var refusal = WebhookAddresses.Refusal(IPAddress.Parse(address), allowPrivate, literal.Length == 0 ? null : IPAddress.Parse(literal));

        if (kind.Length == 0)
        {
            Assert.Null(refusal);
        }
        else
        {
            Assert.NotNull(refusal);
            Assert.Contains($" {kind} address", refusal, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Refusal_PrivateAddress_NamesTheSettingThatAllowsIt()
    {
        var refusal = WebhookAddresses.Refusal(IPAddress.Parse("10.0.0.1"), allowPrivate: false, allowedLiteral: null);

        Assert.Contains("Webhooks:AllowPrivateNetworks", refusal, StringComparison.Ordinal);
    }
}
