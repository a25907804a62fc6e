using System.Net;

namespace Berth.Server.Webhooks;

/// <summary>Resolves a callback host at send time. A seam: tests answer with the addresses a rebinding DNS server would.</summary>
public interface IHostResolver
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

internal sealed class DnsHostResolver : IHostResolver
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) => Dns.GetHostAddressesAsync(host, cancellationToken);
}
