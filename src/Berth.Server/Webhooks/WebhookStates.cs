using System.Text.Json;
using Berth.Server.Jobs;

namespace Berth.Server.Webhooks;

/// <summary>How a <see cref="WebhookState"/> is stored: its JSON name (<c>pending</c>, <c>delivered</c>, <c>failed</c>).</summary>
internal static class WebhookStates
{
    public static string ToWire(WebhookState state) => JsonSerializer.Serialize(state, JobJson.Options).Trim('"');

    public static WebhookState Parse(string wire) =>
        Enum.GetValues<WebhookState>().FirstOrDefault(s => ToWire(s) == wire) is var state && ToWire(state) == wire
            ? state
            : throw new InvalidDataException($"unknown webhook state '{wire}' in the database");
}
