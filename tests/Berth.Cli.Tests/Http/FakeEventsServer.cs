using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Cli.Tests.Http;

/// <summary>
/// A stand-in for a Berth that has the issue-11 streams (<c>/events</c>, <c>/logs?follow=true</c>), on loopback: it
/// accepts one submission and then plays <see cref="Events"/> (each a job view, or null for a keep-alive comment),
/// ending with <c>end</c> unless <see cref="EndStream"/> is false. GET of the job answers <see cref="Final"/> and is counted.
/// </summary>
public sealed class FakeEventsServer : IAsyncDisposable
{
    public const string Id = "0195f0c0aaaabbbbccccddddeeeeffff";
    private readonly WebApplication _app;

    public FakeEventsServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/api/v1/jobs", () => Results.Text(Job("queued"), "application/json", statusCode: 202));
        _app.MapGet("/api/v1/jobs/{id}", () =>
        {
            Interlocked.Increment(ref _polls);
            return Results.Text(Final, "application/json");
        });
        _app.MapGet("/api/v1/jobs/{id}/events", async (HttpContext http) =>
        {
            http.Response.ContentType = "text/event-stream";
            var n = 0;
            foreach (var view in Events)
            {
                // CRLF line ends and the JSON split over two data lines: the reader must join them.
                var split = view?.IndexOf(',', StringComparison.Ordinal) + 1 ?? 0;
                var text = view is null ? ": keep-alive\r\n\r\n" : $"event: job\r\nid: {++n}\r\ndata: {view[..split]}\r\ndata: {view[split..]}\r\n\r\n";
                await http.Response.WriteAsync(text);
                await http.Response.Body.FlushAsync();
                await Task.Delay(30);
            }
            if (EndStream)
            {
                await http.Response.WriteAsync("event: end\ndata: {}\n\n");
            }
        });
        _app.MapGet("/api/v1/jobs/{id}/logs", async (HttpContext http) =>
        {
            FollowAsked = http.Request.Query["follow"] == "true";
            http.Response.ContentType = "text/plain; charset=utf-8";
            foreach (var chunk in new[] { "==> build log <==\nStep 1/2 : FR", "OM busybox\n", "==> run log <==\nscore 0.97\n" })
            {
                await http.Response.WriteAsync(chunk);
                await http.Response.Body.FlushAsync();
                await Task.Delay(20);
            }
        });
    }

    private int _polls;

    public List<string?> Events { get; } = [];

    public bool EndStream { get; set; } = true;

    public string Final { get; set; } = Job("queued");

    public bool FollowAsked { get; private set; }

    public int Polls => _polls;

    public Uri Url => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public Task StartAsync() => _app.StartAsync();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>A job view as the server's JSON: the status, stages in the given states, and a failure when given.</summary>
    public static string Job(string status, string[]? stages = null, (string Reason, string Message)? failure = null, double? performance = null)
    {
        var names = new[] { "lint", "build", "scan", "run", "collect" };
        var view = new Dictionary<string, object?>
        {
            ["id"] = Id,
            ["name"] = "fake",
            ["owner"] = "local",
            ["status"] = status,
            ["performance"] = performance,
            ["failure"] = failure is { } f ? new { reason = f.Reason, message = f.Message } : null,
            ["createdAt"] = "2026-11-30T12:00:00Z",
            ["startedAt"] = status == "queued" ? null : "2026-11-30T12:00:01Z",
            ["finishedAt"] = status is "succeeded" or "failed" or "canceled" ? "2026-11-30T12:00:09Z" : null,
            ["stages"] = names.Select((name, i) => new
            {
                name,
                status = stages is null || i >= stages.Length ? "pending" : stages[i],
                startedAt = stages is not null && i < stages.Length && stages[i] != "pending" ? "2026-11-30T12:00:02Z" : null,
                finishedAt = stages is not null && i < stages.Length && stages[i] is "succeeded" or "failed" ? "2026-11-30T12:00:04Z" : null,
            }),
            ["exitCode"] = null,
            ["lint"] = Array.Empty<object>(),
            ["scan"] = null,
            ["limits"] = new { timeoutSeconds = 60, memoryMb = 256, cpus = 1.0, dataMb = 64 },
            ["cacheHit"] = false,
            ["agent"] = null,
            ["attempts"] = status == "queued" ? 0 : 1,
            ["webhook"] = null,
        };
        return JsonSerializer.Serialize(view);
    }
}
