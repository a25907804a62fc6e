using Berth.Server.Jobs;
using Berth.Server.Webhooks;
using Npgsql;
using NpgsqlTypes;
using static Berth.Server.Storage.Postgres.PostgresJobRows;

namespace Berth.Server.Storage.Postgres;

/// <summary>
/// The outbox in the shared <c>jobs</c> table (the <c>webhook_*</c> columns, schema step 2), for any number of API
/// servers: a claim locks the rows it takes (<c>FOR UPDATE SKIP LOCKED</c>) and marks them claimed until a time, so
/// no other server takes one of them while its attempt runs, nor after a server stopped mid-attempt until the claim expires.
/// </summary>
internal sealed class PostgresWebhookOutbox(PostgresDatabase database) : IWebhookOutbox
{
    private static readonly string Pending = $"'{WebhookStates.ToWire(WebhookState.Pending)}'";

    public Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(DateTimeOffset now, TimeSpan claimFor, int max, CancellationToken cancellationToken) =>
        database.WriteAsync<IReadOnlyList<WebhookDelivery>>(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                UPDATE jobs SET webhook_claimed_until = @until, webhook_attempts = webhook_attempts + 1
                WHERE id IN (SELECT id FROM jobs
                             WHERE webhook_state = {Pending} AND status IN {Terminal}
                               AND (webhook_next_at IS NULL OR webhook_next_at <= @now)
                               AND (webhook_claimed_until IS NULL OR webhook_claimed_until <= @now)
                             ORDER BY seq LIMIT @max
                             FOR UPDATE SKIP LOCKED)
                RETURNING id, webhook_url, webhook_delivery, webhook_attempts, seq
                """, connection);
            Add(command, "now", NpgsqlDbType.TimestampTz, now.ToUniversalTime());
            Add(command, "until", NpgsqlDbType.TimestampTz, (now + claimFor).ToUniversalTime());
            Add(command, "max", NpgsqlDbType.Integer, max);
            var claimed = new List<(long Seq, WebhookDelivery Delivery)>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                claimed.Add((reader.GetInt64(4), new WebhookDelivery(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3))));
            }
            return claimed.OrderBy(c => c.Seq).Select(c => c.Delivery).ToList(); // RETURNING has no order of its own
        }, cancellationToken);

    public Task<bool> RecordAsync(string jobId, WebhookOutcome outcome, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                UPDATE jobs SET webhook_state = @state, webhook_attempts = @attempts, webhook_last_status = @status,
                    webhook_last_error = @error, webhook_delivered_at = @delivered, webhook_next_at = @next, webhook_claimed_until = NULL
                WHERE id = @id AND webhook_state = {Pending}
                """, connection);
            var webhook = outcome.Webhook;
            Add(command, "id", NpgsqlDbType.Text, jobId);
            Add(command, "state", NpgsqlDbType.Text, WebhookStates.ToWire(webhook.State));
            Add(command, "attempts", NpgsqlDbType.Integer, webhook.Attempts);
            Add(command, "status", NpgsqlDbType.Integer, webhook.LastStatus);
            Add(command, "error", NpgsqlDbType.Text, webhook.LastError);
            Add(command, "delivered", NpgsqlDbType.TimestampTz, webhook.DeliveredAt?.ToUniversalTime());
            Add(command, "next", NpgsqlDbType.TimestampTz, outcome.NextAttemptAt?.ToUniversalTime());
            return await command.ExecuteNonQueryAsync(ct) > 0;
        }, cancellationToken);
}
