using System.Net;
using System.Net.Sockets;

namespace Berth.Server.IntegrationTests.Infrastructure;

/// <summary>A loopback listener that records every connection made to it: proof that nothing was fetched.</summary>
public sealed class Tripwire : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private int _contacts;

    public Tripwire()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary><c>127.0.0.1:&lt;port&gt;</c>, for URLs and registry references.</summary>
    public string Address => $"127.0.0.1:{Port}";

    public int Contacts => Volatile.Read(ref _contacts);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                using var client = await _listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref _contacts);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose() => _listener.Stop();
}
