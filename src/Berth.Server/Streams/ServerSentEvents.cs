using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.Jobs;

namespace Berth.Server.Streams;

/// <summary>
/// Writes Berth's event streams (<c>text/event-stream</c>): <c>event: job</c> with an id counting from 1 and the job
/// view as one line of JSON, <c>event: end</c>, and <c>: keep-alive</c> comments. Each one is flushed at once.
/// </summary>
internal sealed class ServerSentEvents(Stream output)
{
    private static readonly byte[] End = Encoding.UTF8.GetBytes("event: end\ndata: {}\n\n");
    private static readonly byte[] KeepAliveComment = Encoding.UTF8.GetBytes(": keep-alive\n\n");

    private long _id;

    /// <summary>The job view as the events carry it: one line of JSON, the API's shape.</summary>
    public static string Json(Job job) => JsonSerializer.Serialize(JobView.From(job), JobJson.Options);

    public Task JobAsync(string json, CancellationToken cancellationToken) =>
        WriteAsync(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"event: job\nid: {++_id}\ndata: {json}\n\n")), cancellationToken);

    public Task EndAsync(CancellationToken cancellationToken) => WriteAsync(End, cancellationToken);

    public Task KeepAliveAsync(CancellationToken cancellationToken) => WriteAsync(KeepAliveComment, cancellationToken);

    private async Task WriteAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        await output.WriteAsync(bytes, cancellationToken);
        await output.FlushAsync(cancellationToken);
    }
}
