using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Webhooks;

/// <summary>
/// Runs on every API server: every <c>Webhooks:PollSeconds</c> it claims the due deliveries of finished jobs from the
/// <see cref="IWebhookOutbox"/> (however the job ended: a worker, an agent's result, a cancel, a lost lease), posts each
/// job's view (the JSON of <c>GET /api/v1/jobs/{id}</c>) and records the outcome: 2xx delivers it; anything else is
/// tried again after <see cref="WebhooksOptions.BackoffAfter"/>, until <c>Webhooks:MaxAttempts</c>, then given up.
/// </summary>
internal sealed class WebhookDispatcher(
    IWebhookOutbox outbox,
    IJobStore store,
    WebhookSender sender,
    IOptions<WebhooksOptions> options,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    /// <summary>Deliveries claimed (and sent at once) per poll.</summary>
    internal const int Batch = 8;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(options.Value.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await DispatchDueAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.WebhookDispatchFailed(logger, e);
            }
            if (claimed < Batch)
            {
                await Task.Delay(poll, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>One round: claims what is due, sends it, records each outcome. Returns how many deliveries it claimed.</summary>
    internal async Task<int> DispatchDueAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        // Held past the attempt's own timeout, so that no other server takes it while it runs.
        var claimFor = TimeSpan.FromSeconds(settings.TimeoutSeconds * 2 + 30);
        var due = await outbox.ClaimDueAsync(time.GetUtcNow(), claimFor, Batch, cancellationToken);
        await Task.WhenAll(due.Select(d => DeliverAsync(d, settings, cancellationToken)));
        return due.Count;
    }

    private async Task DeliverAsync(WebhookDelivery delivery, WebhooksOptions settings, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(delivery.JobId, cancellationToken) is not { } job)
        {
            return; // deleted meanwhile: its delivery went with it
        }
        var attempt = delivery.Attempt;
        if (attempt > settings.MaxAttempts)
        {
            // The last allowed attempt was claimed by a server that stopped before recording its outcome: give up
            // without sending once more than Webhooks:MaxAttempts.
            var error = "the last attempt's outcome is unknown (the server making it stopped)";
            Log.WebhookGivenUp(logger, job.Id, delivery.DeliveryId, settings.MaxAttempts, error);
            await outbox.RecordAsync(job.Id, new(new JobWebhook(WebhookState.Failed, settings.MaxAttempts, null, error, null), null), CancellationToken.None);
            return;
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(JobView.From(job), JobJson.Options);
        SendResult result;
        try
        {
            result = await sender.SendAsync(delivery, body, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // This server is stopping: record the attempt (it counts: the receiver may have got it) and make the next
            // one due at once, so that the next server sends it without waiting for this claim to run out.
            var stopped = new JobWebhook(WebhookState.Pending, attempt, null, "the server stopped during the attempt; its outcome is unknown", null);
            await outbox.RecordAsync(job.Id, new(stopped, time.GetUtcNow()), CancellationToken.None);
            return;
        }
        var now = time.GetUtcNow();
        WebhookOutcome outcome;
        if (result.Delivered)
        {
            outcome = new(new JobWebhook(WebhookState.Delivered, attempt, result.Status, null, now), null);
            Log.WebhookDelivered(logger, job.Id, delivery.DeliveryId, attempt, result.Status!.Value);
        }
        else if (attempt >= settings.MaxAttempts)
        {
            outcome = new(new JobWebhook(WebhookState.Failed, attempt, result.Status, result.Error, null), null);
            Log.WebhookGivenUp(logger, job.Id, delivery.DeliveryId, attempt, result.Error ?? "");
        }
        else
        {
            var wait = settings.BackoffAfter(attempt);
            outcome = new(new JobWebhook(WebhookState.Pending, attempt, result.Status, result.Error, null), now + wait);
            Log.WebhookAttemptFailed(logger, job.Id, delivery.DeliveryId, attempt, result.Error ?? "", wait.TotalSeconds);
        }
        await outbox.RecordAsync(job.Id, outcome, CancellationToken.None); // an attempt made is recorded even while stopping
    }
}
