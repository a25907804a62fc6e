using Berth.Server.Webhooks;
using static Berth.Server.Storage.SqliteJobStore;

namespace Berth.Server.Storage;

/// <summary>The outbox in the SQLite job store's <c>jobs</c> table (the <c>webhook_*</c> columns).</summary>
internal sealed class SqliteWebhookOutbox(SqliteJobStore store) : IWebhookOutbox
{
    private static readonly string Pending = $"'{WebhookStates.ToWire(Jobs.WebhookState.Pending)}'";

    public async Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(DateTimeOffset now, TimeSpan claimFor, int max, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE jobs SET webhook_claimed_until = @until, webhook_attempts = webhook_attempts + 1
            WHERE seq IN (SELECT seq FROM jobs
                          WHERE webhook_state = {Pending} AND status IN {Terminal}
                            AND (webhook_next_at IS NULL OR webhook_next_at <= @now)
                            AND (webhook_claimed_until IS NULL OR webhook_claimed_until <= @now)
                          ORDER BY seq LIMIT @max)
            RETURNING id, webhook_url, webhook_delivery, webhook_attempts, seq
            """;
        command.Parameters.AddWithValue("@now", Format(now));
        command.Parameters.AddWithValue("@until", Format(now + claimFor));
        command.Parameters.AddWithValue("@max", max);
        var claimed = new List<(long Seq, WebhookDelivery Delivery)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add((reader.GetInt64(4), new WebhookDelivery(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3))));
        }
        return claimed.OrderBy(c => c.Seq).Select(c => c.Delivery).ToList(); // RETURNING has no order of its own
    }

    public async Task<bool> RecordAsync(string jobId, WebhookOutcome outcome, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE jobs SET webhook_state = @state, webhook_attempts = @attempts, webhook_last_status = @status,
                webhook_last_error = @error, webhook_delivered_at = @delivered, webhook_next_at = @next, webhook_claimed_until = NULL
            WHERE id = @id AND webhook_state = {Pending}
            """;
        var webhook = outcome.Webhook;
        command.Parameters.AddWithValue("@id", jobId);
        command.Parameters.AddWithValue("@state", WebhookStates.ToWire(webhook.State));
        command.Parameters.AddWithValue("@attempts", webhook.Attempts);
        command.Parameters.AddWithValue("@status", (object?)webhook.LastStatus ?? DBNull.Value);
        command.Parameters.AddWithValue("@error", (object?)webhook.LastError ?? DBNull.Value);
        command.Parameters.AddWithValue("@delivered", webhook.DeliveredAt is { } d ? Format(d) : DBNull.Value);
        command.Parameters.AddWithValue("@next", outcome.NextAttemptAt is { } n ? Format(n) : DBNull.Value);
        var changed = await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        store.Changed(jobId);
        return changed;
    }
}
