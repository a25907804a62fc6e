using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Server.Tests.Webhooks;

/// <summary>One request the receiver got: its headers (first value of each, names as sent) and the exact body bytes.</summary>
public sealed record ReceivedHook(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>
/// A webhook receiver on a real Kestrel bound to 127.0.0.1 and a free port: it records every request and answers with
/// the status <see cref="Answer"/> gives for the request's number (1-based).
/// </summary>
public sealed class LoopbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedHook> _received = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private int _count;

    private LoopbackReceiver(WebApplication app) => _app = app;

    /// <summary>The status of request n (1-based); 204 unless set.</summary>
    public Func<int, int> Answer { get; set; } = _ => StatusCodes.Status204NoContent;

    /// <summary>Awaited before answering request n, when set (a receiver that hangs).</summary>
    public Func<int, Task>? Hold { get; set; }

    public int Port { get; private set; }

    public IReadOnlyList<ReceivedHook> Received => _received.ToList();

    public static async Task<LoopbackReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new LoopbackReceiver(app);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        receiver.Port = new Uri(address).Port;
        return receiver;
    }

    /// <summary>Waits until <paramref name="count"/> requests arrived in all (fails the test after <paramref name="seconds"/>).</summary>
    public async Task WaitForAsync(int count, int seconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (_received.Count < count)
        {
            try
            {
                await _arrived.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"the receiver got {_received.Count} requests within {seconds} s; expected {count}");
            }
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var n = Interlocked.Increment(ref _count);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        _received.Enqueue(new ReceivedHook(context.Request.Path + context.Request.QueryString, headers, body.ToArray()));
        _arrived.Release();
        if (Hold is { } hold)
        {
            await hold(n);
        }
        context.Response.StatusCode = Answer(n);
        if (context.Response.StatusCode is >= 300 and < 400)
        {
            context.Response.Headers.Location = "/elsewhere";
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _arrived.Dispose();
    }
}
