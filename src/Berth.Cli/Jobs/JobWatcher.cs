using System.Net;
using System.Text.Json;
using Berth.Cli.Http;

namespace Berth.Cli.Jobs;

/// <summary>How <see cref="JobWatcher"/> followed a job: the events stream, or polling (an older server, or a stream that broke off).</summary>
public enum WatchMode
{
    Events,
    Polling,
}

/// <summary>
/// Follows a job until it ends. Reads <c>GET /api/v1/jobs/{id}/events</c> (one <c>job</c> event per change, then
/// <c>end</c>); when the server has no such route (404/405) or the stream ends before the job does, polls
/// <c>GET /api/v1/jobs/{id}</c> every <see cref="CliHost.PollInterval"/>. With a log writer, the log follows along
/// (<c>/logs?follow=true</c>) beside the events; when polling, the whole log is printed once the job has ended (an older
/// server cannot follow it). A server that goes away while polling is retried for <see cref="Patience"/>.
/// </summary>
public sealed class JobWatcher(BerthClient client, CliHost host)
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LogGrace = TimeSpan.FromSeconds(10);

    public WatchMode Mode { get; private set; } = WatchMode.Polling;

    public async Task<JobView> WaitAsync(JobView submitted, Action<JobView> onChange, TextWriter? log, CancellationToken cancellationToken)
    {
        onChange(submitted);
        var last = submitted;
        if (!submitted.IsTerminal)
        {
            using var events = await client.OpenEventsAsync(submitted.Id, cancellationToken);
            if (events is not null)
            {
                Mode = WatchMode.Events;
                using var stopLog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var following = log is null ? Task.CompletedTask : client.CopyLogsAsync(submitted.Id, follow: true, log, wholeLines: true, stopLog.Token);
                try
                {
                    last = await ReadEventsAsync(events, last, onChange, cancellationToken);
                }
                finally
                {
                    // The log ends by itself once the job has ended and its whole log was sent; give it a moment.
                    stopLog.CancelAfter(last.IsTerminal ? LogGrace : TimeSpan.Zero);
                    await EndQuietlyAsync(following, cancellationToken);
                }
                if (last.IsTerminal)
                {
                    return last;
                }
                Mode = WatchMode.Polling; // the stream ended early: go on by polling
            }
        }
        last = await PollAsync(last, onChange, cancellationToken);
        if (log is not null)
        {
            await client.CopyLogsAsync(submitted.Id, follow: false, log, wholeLines: true, cancellationToken);
        }
        return last;
    }

    private static async Task<JobView> ReadEventsAsync(HttpResponseMessage events, JobView last, Action<JobView> onChange, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await events.Content.ReadAsStreamAsync(cancellationToken);
            await foreach (var message in ServerSentEvents.ReadAsync(stream, cancellationToken))
            {
                if (message.Event == "end")
                {
                    break;
                }
                if (message.Event != "job")
                {
                    continue;
                }
                using var document = JsonDocument.Parse(message.Data);
                last = BerthClient.ParseJob(document.RootElement.Clone());
                onChange(last);
                if (last.IsTerminal)
                {
                    break; // "end" follows; nothing more to learn
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            // The stream broke off or carried something unreadable: polling takes over from the last state seen.
        }
        return last;
    }

    private async Task<JobView> PollAsync(JobView last, Action<JobView> onChange, CancellationToken cancellationToken)
    {
        var lastAnswer = host.Time.GetUtcNow();
        while (!last.IsTerminal)
        {
            await Task.Delay(host.PollInterval, host.Time, cancellationToken);
            try
            {
                last = await client.GetAsync(last.Id, cancellationToken);
                lastAnswer = host.Time.GetUtcNow();
                onChange(last);
            }
            catch (BerthApiException e) when (Transient(e) && host.Time.GetUtcNow() - lastAnswer < Patience)
            {
                // the server restarts or is busy: ask again
            }
        }
        return last;
    }

    private static bool Transient(BerthApiException e) =>
        e.Status is null or HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout;

    private static async Task EndQuietlyAsync(Task following, CancellationToken cancellationToken)
    {
        try
        {
            await following;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the log did not end within the grace: what came is printed
        }
        catch (BerthApiException) when (!cancellationToken.IsCancellationRequested)
        {
            // the log is an extra: the job's outcome still prints
        }
    }
}
