using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Microsoft.Win32.SafeHandles;

namespace Berth.Server.Agent;

/// <summary>
/// Sends what the stages wrote to a job's build.log and run.log (on this agent's disk) to the API, in chunks of at most
/// <see cref="MaxChunk"/> bytes, each at the offset the server said its log has. A retried chunk is not stored twice
/// (the server skips the bytes it has), so a chunk whose answer was lost is simply sent again. Not thread-safe: one
/// caller at a time (the lease's shipping loop, then its final flush).
/// </summary>
public sealed class LogShipper(FleetClient api, string jobId, long lease, JobPaths paths, ILogger logger)
{
    /// <summary>The largest body of one log request.</summary>
    public const int MaxChunk = 1024 * 1024;

    private static readonly JobLog[] Logs = [JobLog.Build, JobLog.Run];

    private readonly long[] _shipped = new long[Logs.Length];
    private readonly bool[] _closed = new bool[Logs.Length];

    /// <summary>The server's length of <paramref name="log"/>, as last answered.</summary>
    public long Shipped(JobLog log) => _shipped[(int)log];

    /// <summary>
    /// Sends everything both logs have beyond what the server has. Done when nothing is left (or the server stopped taking
    /// a log: its cap, or a refusal, which is logged); Stale or Unavailable as the server answered, to try again later.
    /// </summary>
    public async Task<ApiReply<bool>> ShipAsync(CancellationToken cancellationToken)
    {
        foreach (var log in Logs)
        {
            var reply = await ShipAsync(log, cancellationToken);
            if (reply.Outcome != ApiOutcome.Done)
            {
                return reply;
            }
        }
        return new(ApiOutcome.Done, true);
    }

    private async Task<ApiReply<bool>> ShipAsync(JobLog log, CancellationToken cancellationToken)
    {
        var i = (int)log;
        var path = log == JobLog.Build ? paths.BuildLog : paths.RunLog;
        while (!_closed[i])
        {
            var offset = _shipped[i];
            var chunk = await ReadAsync(path, offset, cancellationToken);
            if (chunk.Length == 0)
            {
                break;
            }
            var reply = await api.AppendLogAsync(jobId, lease, log, offset, chunk, cancellationToken);
            switch (reply.Outcome)
            {
                case ApiOutcome.Done:
                    var length = reply.Value!.Length;
                    if (length < offset + chunk.Length)
                    {
                        _closed[i] = true; // the server's log is at its cap: it takes nothing more
                        Log.LogCapped(logger, jobId, AgentProtocol.LogName(log), length);
                    }
                    _shipped[i] = length;
                    break;
                case ApiOutcome.Gap when offset > 0:
                    _shipped[i] = 0; // the server has less than it said: send it all again (what it has is skipped)
                    break;
                case ApiOutcome.Gap or ApiOutcome.Refused:
                    _closed[i] = true;
                    Log.WriteRefused(logger, jobId, $"{AgentProtocol.LogName(log)} log", reply.Problem ?? reply.Outcome.ToString());
                    break;
                default:
                    return reply.As<bool>();
            }
        }
        return new(ApiOutcome.Done, true);
    }

    /// <summary>Up to <see cref="MaxChunk"/> bytes of the file from <paramref name="offset"/>; none when it is not there (yet, or any more).</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadAsync(string path, long offset, CancellationToken cancellationToken)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        using (handle)
        {
            var available = RandomAccess.GetLength(handle) - offset;
            if (available <= 0)
            {
                return ReadOnlyMemory<byte>.Empty;
            }
            var buffer = new byte[(int)Math.Min(available, MaxChunk)];
            var read = await RandomAccess.ReadAsync(handle, buffer, offset, cancellationToken);
            return buffer.AsMemory(0, read);
        }
    }
}
