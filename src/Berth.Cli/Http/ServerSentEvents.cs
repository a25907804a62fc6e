using System.Runtime.CompilerServices;
using System.Text;

namespace Berth.Cli.Http;

/// <summary>One Server-Sent Event: its <c>event:</c> name (<c>message</c> when absent), <c>id:</c> and joined <c>data:</c> lines.</summary>
public sealed record ServerSentEvent(string Event, string? Id, string Data);

/// <summary>
/// Reads a <c>text/event-stream</c> as the HTML standard says: lines end with LF, CRLF or CR; a blank line dispatches
/// the event; <c>:</c> starts a comment (keep-alives); one space after the field's colon is dropped; several
/// <c>data:</c> lines join with LF; an event with no data is not dispatched; unknown fields are ignored.
/// </summary>
public static class ServerSentEvents
{
    public static async IAsyncEnumerable<ServerSentEvent> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? name = null, id = null;
        var data = new StringBuilder();
        var hasData = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (hasData)
                {
                    yield return new ServerSentEvent(name ?? "message", id, data.ToString());
                }
                (name, hasData) = (null, false);
                data.Clear();
                continue;
            }
            if (line.StartsWith(':'))
            {
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }
            switch (field)
            {
                case "event":
                    name = value;
                    break;
                case "data":
                    if (hasData)
                    {
                        data.Append('\n');
                    }
                    data.Append(value);
                    hasData = true;
                    break;
                case "id" when !value.Contains('\0', StringComparison.Ordinal):
                    id = value;
                    break;
            }
        }
    }
}
