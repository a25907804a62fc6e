using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Streams;

/// <summary>One event of a <c>text/event-stream</c>; <see cref="Job"/> parses a <c>job</c> event's data.</summary>
internal sealed record ServerEvent(string Event, string? Id, string Data)
{
    public JobView Job => JsonSerializer.Deserialize<JobView>(Data, JobJson.Options)!;
}

/// <summary>Reads a server-sent event stream line by line, as a client would; every read has a deadline.</summary>
internal sealed class EventReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    public int Comments { get; private set; }

    /// <summary>The next event, or null at the end of the stream.</summary>
    public async Task<ServerEvent?> NextAsync(int seconds = 20)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        string? name = null, id = null;
        var data = new StringBuilder();
        while (await _reader.ReadLineAsync(deadline.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null || data.Length > 0)
                {
                    return new(name ?? "message", id, data.ToString());
                }
                continue;
            }
            if (line.StartsWith(':'))
            {
                Comments++;
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "event": name = value; break;
                case "id": id = value; break;
                case "data": data.Append(value); break;
                default: throw new InvalidDataException($"unexpected field in '{line}'");
            }
        }
        return null;
    }

    public void Dispose() => _reader.Dispose();
}

/// <summary>Drives a job the way the pipeline would, through the store and the log files of an in-process Berth.</summary>
internal sealed class JobDriver(IServiceProvider services)
{
    public IJobStore Store { get; } = services.GetRequiredService<IJobStore>();

    public async Task<Job> GetAsync(string id) => (await Store.GetAsync(id, default))!;

    /// <summary>Starts stage <paramref name="index"/> (the ones before it succeeded) with the job in <paramref name="status"/>.</summary>
    public async Task<Job> StageAsync(string id, int index, JobStatus status)
    {
        var job = await GetAsync(id);
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < index; i++)
        {
            if (job.Stages[i].Status != StageStatus.Succeeded)
            {
                job = job.WithStage(job.Stages[i].Name, StageStatus.Succeeded, now);
            }
        }
        job = job.WithStage(job.Stages[index].Name, StageStatus.Running, now) with { Status = status, StartedAt = job.StartedAt ?? now };
        await Store.SaveAsync(job, default);
        return job;
    }

    public async Task<Job> FinishAsync(string id, JobStatus status = JobStatus.Succeeded)
    {
        var job = await GetAsync(id);
        var now = DateTimeOffset.UtcNow;
        job = job with
        {
            Status = status,
            FinishedAt = now,
            Performance = status == JobStatus.Succeeded ? 42.5 : null,
            Stages = job.Stages.Select(s => s with { Status = StageStatus.Succeeded, StartedAt = s.StartedAt ?? now, FinishedAt = now }).ToList(),
        };
        await Store.SaveAsync(job, default);
        return job;
    }

    /// <summary>The log writer the pipeline's stages use, on the job's build or run log.</summary>
    public CappedLogWriter Log(string id, JobFile file, long capBytes = 1L << 40)
    {
        var paths = JobPaths.For(services.GetRequiredService<IOptions<BerthOptions>>().Value.JobsRoot, id);
        Directory.CreateDirectory(paths.Directory);
        return new CappedLogWriter(file == JobFile.BuildLog ? paths.BuildLog : paths.RunLog, capBytes);
    }
}

internal static class StreamRequests
{
    /// <summary>Sends a GET and returns once the headers are in, the body left to stream.</summary>
    public static async Task<HttpResponseMessage> OpenAsync(this HttpClient client, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(expected, response.StatusCode);
        return response;
    }

    /// <summary>Reads until <paramref name="text"/> has arrived in full (or the deadline passes), appending to <paramref name="received"/>.</summary>
    public static async Task ReadUntilAsync(Stream body, StringBuilder received, string text, int seconds = 20)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var buffer = new byte[64 * 1024];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        while (!received.ToString().EndsWith(text, StringComparison.Ordinal))
        {
            var read = await body.ReadAsync(buffer, deadline.Token);
            Assert.True(read > 0, $"the stream ended before '{text.Trim()}' arrived; it sent: {received}");
            received.Append(chars, 0, decoder.GetChars(buffer, 0, read, chars, 0));
        }
    }

    public static async Task<string> ReadToEndAsync(Stream body, int seconds = 30)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        using var reader = new StreamReader(body, Encoding.UTF8);
        return await reader.ReadToEndAsync(deadline.Token);
    }
}

/// <summary>The in-process Berth the stream tests of one class share (keyless, loopback).</summary>
public sealed class StreamServer() : Berth.Server.Tests.Api.BerthApiFactory(new Dictionary<string, string> { ["Auth:SubmitsPerMinute"] = "100000" });
