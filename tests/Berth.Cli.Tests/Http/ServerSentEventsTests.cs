using System.Text;
using Berth.Cli.Http;

namespace Berth.Cli.Tests.Http;

/// <summary>The event-stream grammar: line endings, comments, multi-line data, ids, and what is not dispatched.</summary>
public sealed class ServerSentEventsTests
{
    private static async Task<List<ServerSentEvent>> ReadAsync(string text)
    {
        var events = new List<ServerSentEvent>();
        await foreach (var e in ServerSentEvents.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), CancellationToken.None))
        {
            events.Add(e);
        }
        return events;
    }

    [Fact]
    public async Task ReadAsync_MixedLineEndingsCommentsAndMultilineData_DispatchesEachEventOnce()
    {
        var events = await ReadAsync(": keep-alive\r\n\r\nevent: job\r\nid: 1\r\ndata: {\"a\":\r\ndata:1}\r\n\r\nevent: job\rid: 2\rdata: x\r\revent:end\ndata: {}\n\n");

        Assert.Equal(
            [new ServerSentEvent("job", "1", "{\"a\":\n1}"), new ServerSentEvent("job", "2", "x"), new ServerSentEvent("end", "2", "{}")],
            events);
    }

    [Fact]
    public async Task ReadAsync_EventWithoutDataOrUnfinished_IsNotDispatched()
    {
        var events = await ReadAsync("event: job\n\nretry: 10\nunknown: y\ndata\n\nevent: job\ndata: cut off");

        Assert.Equal([new ServerSentEvent("message", null, "")], events);
    }
}
