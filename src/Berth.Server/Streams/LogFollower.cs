using System.Buffers;
using System.Text;
using Berth.Server.Jobs;

namespace Berth.Server.Streams;

/// <summary>
/// Writes a job's log as <c>GET /api/v1/jobs/{id}/logs</c> shows it (<c>==&gt; build log &lt;==</c>, the build log,
/// <c>==&gt; run log &lt;==</c>, the run log), following it as it is written until the job is terminal and everything
/// was sent. The build log is done once the job is past building (the pipeline closes it before it saves the next
/// status); the state is read before the files, so a terminal state read means the files read after it are whole.
/// Memory per stream is one buffer: bytes are read from the store only as fast as the client takes them.
/// </summary>
internal sealed class LogFollower(IJobStore store, IJobFiles files, LogPolling polling)
{
    /// <summary>Bytes read from a log and written per step.</summary>
    internal const int BufferBytes = 64 * 1024;

    internal static readonly byte[] BuildHeader = Encoding.UTF8.GetBytes("==> build log <==\n");
    internal static readonly byte[] RunHeader = Encoding.UTF8.GetBytes("\n==> run log <==\n");

    /// <summary>Ends when the job is terminal and both logs were written, or when it was deleted meanwhile.</summary>
    public async Task WriteAsync(Job first, JobChangeSubscription changes, Stream output, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            var job = first;
            var attempts = job.Attempts;
            long build = 0, run = 0;
            var inRun = false;
            await WriteAsync(output, BuildHeader, cancellationToken);
            while (true)
            {
                if (attempts > 0 && job.Attempts > attempts)
                {
                    // Queued again and started over (an agent was lost): its logs were written again from the start.
                    await WriteAsync(output, Encoding.UTF8.GetBytes($"\n==> attempt {job.Attempts} <==\n"), cancellationToken);
                    await WriteAsync(output, BuildHeader, cancellationToken);
                    (build, run, inRun) = (0, 0, false);
                }
                attempts = job.Attempts;
                var terminal = job.Status.IsTerminal();
                if (!inRun)
                {
                    build = await CopyAsync(job.Id, JobFile.BuildLog, build, buffer, output, cancellationToken);
                    if (terminal || job.Status is JobStatus.Scanning or JobStatus.Running)
                    {
                        await WriteAsync(output, RunHeader, cancellationToken);
                        inRun = true;
                    }
                }
                if (inRun)
                {
                    run = await CopyAsync(job.Id, JobFile.RunLog, run, buffer, output, cancellationToken);
                }
                if (terminal)
                {
                    return;
                }
                var changed = await changes.WaitAsync(polling.Interval, cancellationToken);
                if (!changed.IsEmpty)
                {
                    if (await store.GetAsync(job.Id, cancellationToken) is not { } now)
                    {
                        return; // deleted
                    }
                    job = now;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes the log from <paramref name="position"/> to its current end; returns the new position.</summary>
    private async Task<long> CopyAsync(string jobId, JobFile log, long position, byte[] buffer, Stream output, CancellationToken cancellationToken)
    {
        await using var input = await files.OpenReadAsync(jobId, log, position, cancellationToken);
        if (input is null)
        {
            return position;
        }
        int read;
        while ((read = await input.ReadAsync(buffer.AsMemory(0, BufferBytes), cancellationToken)) > 0)
        {
            await WriteAsync(output, buffer.AsMemory(0, read), cancellationToken);
            position += read;
        }
        return position;
    }

    /// <summary>Writes and flushes: the flush waits while the client is behind (back-pressure).</summary>
    private static async Task WriteAsync(Stream output, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await output.WriteAsync(bytes, cancellationToken);
        await output.FlushAsync(cancellationToken);
    }
}
