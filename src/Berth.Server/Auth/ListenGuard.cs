using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Berth.Server.Configuration;
using Berth.Server.Logging;

namespace Berth.Server.Auth;

/// <summary>
/// Berth runs as root, and with no API keys it must be reachable from this machine only. Before the server
/// starts, every address it was given (<c>urls</c>/ASPNETCORE_URLS, <c>http_ports</c>/<c>https_ports</c>,
/// <c>Kestrel:Endpoints</c>) is read with Kestrel's own rules; once it listens, the addresses it really bound
/// are checked again, and no request is answered before they pass.
/// </summary>
public static class ListenGuard
{
    /// <summary>What Kestrel binds when it is given no address.</summary>
    private const string KestrelDefault = "http://localhost:5000";

    /// <param name="runsJobs">False with <c>Berth:Workers=0</c>: an API-only server mounts nothing and gives nothing away, so it needs no root.</param>
    public static void Check(IConfiguration configuration, AuthOptions auth, bool runsJobs)
    {
        if (runsJobs && !Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException(
                "Berth must run as root: it mounts a /data filesystem per job and gives job directories to the run uid.");
        }
        CheckAddresses(configuration, auth);
    }

    /// <summary>Without keys, every configured address must bind loopback only.</summary>
    internal static void CheckAddresses(IConfiguration configuration, AuthOptions auth)
    {
        if (auth.Keys.Count > 0)
        {
            return;
        }
        var open = ConfiguredUrls(configuration).Select(u => (Url: u, Why: NotLoopback(u))).Where(u => u.Why is not null).ToList();
        if (open.Count > 0)
        {
            throw new InvalidOperationException(
                "no API keys are configured (Auth:Keys), so Berth only listens on loopback, but it was asked to listen on " +
                string.Join(", ", open.Select(o => $"{o.Url} ({o.Why})")) + ". Configure Auth:Keys or listen on http://127.0.0.1:<port>.");
        }
    }

    /// <summary>
    /// Without keys: once the server listens, every address it bound must be loopback, else it stops (exit code 1);
    /// until that check has passed every request gets 503.
    /// </summary>
    public static WebApplication UseListenGuard(this WebApplication app, AuthOptions auth)
    {
        if (auth.Keys.Count > 0)
        {
            return app;
        }
        var verified = new StrongBox<bool>();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var bound = app.Urls.ToList();
            var open = bound.Where(u => NotLoopback(u) is not null).ToList();
            if (bound.Count > 0 && open.Count == 0)
            {
                Volatile.Write(ref verified.Value, true);
                Log.LoopbackOnly(app.Logger, string.Join(", ", bound));
                return;
            }
            Log.ListeningBeyondLoopback(app.Logger, bound.Count == 0 ? "no address the server reported" : string.Join(", ", open));
            Environment.ExitCode = 1;
            app.Lifetime.StopApplication();
        });
        app.Use(async (context, next) =>
        {
            if (Volatile.Read(ref verified.Value))
            {
                await next(context);
                return;
            }
            await Results.Problem("Berth is checking the addresses it listens on; retry in a moment.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Starting").ExecuteAsync(context);
        });
        return app;
    }

    /// <summary>
    /// The addresses the host hands Kestrel, as <c>GenericWebHostService</c> does: <c>urls</c>, or without it every
    /// <c>http_ports</c>/<c>https_ports</c> port on every interface; plus each <c>Kestrel:Endpoints:*:Url</c>.
    /// Both sets are checked even when Kestrel would ignore one of them.
    /// </summary>
    internal static IReadOnlyList<string> ConfiguredUrls(IConfiguration configuration)
    {
        var urls = configuration[WebHostDefaults.ServerUrlsKey];
        var hosting = !string.IsNullOrEmpty(urls)
            ? urls.Split(';', StringSplitOptions.RemoveEmptyEntries)
            : Ports(configuration[WebHostDefaults.HttpPortsKey], "http").Concat(Ports(configuration[WebHostDefaults.HttpsPortsKey], "https"));
        var endpoints = configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>();
        var all = hosting.Concat(endpoints).ToList();
        return all.Count > 0 ? all : [KestrelDefault];

        static IEnumerable<string> Ports(string? ports, string scheme) =>
            (ports ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(p => $"{scheme}://*:{p}");
    }

    /// <summary>
    /// Null when Kestrel, given <paramref name="url"/>, listens on loopback only; otherwise why not. Kestrel's rules
    /// (<c>AddressBinder.ParseAddress</c>): <see cref="BindingAddress.Parse"/>, then "localhost" or a name ending in
    /// ".localhost" binds loopback, an IP literal binds that address, and anything else binds every interface.
    /// </summary>
    internal static string? NotLoopback(string url)
    {
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            return "not an address Kestrel can parse";
        }
        if (url.AsSpan().IndexOfAny('@', '#', '?') >= 0 || address.PathBase.Length > 0)
        {
            return "user info, a query, a fragment or a path is refused: Kestrel reads the host differently and may listen on every interface";
        }
        if (!address.Scheme.Equals("http", StringComparison.OrdinalIgnoreCase) && !address.Scheme.Equals("https", StringComparison.OrdinalIgnoreCase))
        {
            return "only http:// and https:// addresses are allowed";
        }
        if (address.IsUnixPipe || address.IsNamedPipe)
        {
            return "a Unix socket or named pipe, not loopback";
        }
        if (IsLocalhostName(address.Host))
        {
            return null;
        }
        if (!IPAddress.TryParse(address.Host, out var ip))
        {
            return address.Host is "*" or "+" ? "every interface" : "not localhost and not an IP address, so Kestrel listens on every interface";
        }
        if (IsLoopback(ip))
        {
            return null;
        }
        return ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) ? "every interface" : "not a loopback address";
    }

    /// <summary>A loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z), whatever its IPv6 scope.</summary>
    internal static bool IsLoopback(IPAddress ip) =>
        IPAddress.IsLoopback(ip.AddressFamily == AddressFamily.InterNetworkV6 && ip.ScopeId != 0 ? new IPAddress(ip.GetAddressBytes()) : ip);

    /// <summary>Kestrel's test: "localhost", or a name ending in ".localhost" with at least one label before it.</summary>
    private static bool IsLocalhostName(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
        (host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase) &&
         host.Split('.', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Length > 1);
}
