using System.Buffers;
using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Npgsql;
using NpgsqlTypes;
using static Berth.Server.Storage.Postgres.PostgresJobRows;

namespace Berth.Server.Storage.Postgres;

/// <summary>
/// A job's files in the shared database, so that any API server serves any job: the Dockerfile, context, scan report and
/// SBOM in <c>job_files</c>, in chunks of <see cref="ChunkBytes"/>; the logs in <c>job_logs</c>, as the chunks agents
/// appended (<see cref="IFleetStore.AppendLogAsync"/>), read back in offset order. A file is written and read a chunk at a
/// time: a context of <c>Limits:MaxContextMb</c> never sits in memory whole, and no connection is held between chunks.
/// A log with no bytes reads as absent (null), as before its first chunk.
/// </summary>
public sealed class PostgresJobFiles(PostgresDatabase database) : IJobFiles
{
    /// <summary>The size of every stored chunk of a file but its last.</summary>
    internal const int ChunkBytes = 1024 * 1024;

    /// <summary>Log chunks read per query.</summary>
    private const int LogChunksPerRead = 32;

    /// <summary>
    /// Replaces the file in one transaction (readers see the old file or the new one). Tried again after a lost connection
    /// only when <paramref name="content"/> can seek back to where it started.
    /// </summary>
    public async Task WriteAsync(string jobId, JobFile file, Stream content, CancellationToken cancellationToken)
    {
        var start = content.CanSeek ? content.Position : 0;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            await database.WriteAsync(async (connection, _, ct) =>
            {
                if (content.CanSeek)
                {
                    content.Position = start;
                }
                var log = LogStream(file);
                await DeleteAsync(connection, jobId, file, ct);
                long offset = 0;
                for (var chunk = 0; ; chunk++)
                {
                    var length = await content.ReadAtLeastAsync(buffer.AsMemory(0, ChunkBytes), ChunkBytes, throwOnEndOfStream: false, ct);
                    if (length == 0 && (chunk > 0 || log is not null))
                    {
                        return offset;
                    }
                    if (log is not null)
                    {
                        await InsertLogChunkAsync(connection, jobId, log, offset, buffer.AsMemory(0, length), ct);
                    }
                    else
                    {
                        await InsertFileChunkAsync(connection, jobId, file, chunk, buffer.AsMemory(0, length), ct);
                    }
                    offset += length;
                    if (length < ChunkBytes)
                    {
                        return offset;
                    }
                }
            }, cancellationToken, retryable: content.CanSeek);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task<Stream?> OpenReadAsync(string jobId, JobFile file, CancellationToken cancellationToken) =>
        OpenReadAsync(jobId, file, 0, cancellationToken);

    /// <summary>A log from any byte; another file from <paramref name="offset"/> by skipping (only logs are followed).</summary>
    public async Task<Stream?> OpenReadAsync(string jobId, JobFile file, long offset, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (LogStream(file) is { } log)
        {
            var first = await ReadLogAsync(jobId, log, offset, cancellationToken);
            return first.Length == 0 ? null : new ChunkedReadStream(first, (position, ct) => ReadLogAsync(jobId, log, position, ct), end: null, start: offset);
        }
        var whole = await OpenFileAsync(jobId, file, cancellationToken);
        if (whole is not null && offset > 0)
        {
            var skipped = new byte[16 * 1024];
            for (var left = offset; left > 0;)
            {
                var read = await whole.ReadAsync(skipped.AsMemory(0, (int)Math.Min(left, skipped.Length)), cancellationToken);
                if (read == 0)
                {
                    break;
                }
                left -= read;
            }
        }
        return whole;
    }

    private async Task<Stream?> OpenFileAsync(string jobId, JobFile file, CancellationToken cancellationToken)
    {
        var (content, chunks, length) = await database.ReadAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT content, (SELECT count(*) FROM job_files WHERE job_id = @job AND file = @file),
                       (SELECT sum(length(content)) FROM job_files WHERE job_id = @job AND file = @file)
                FROM job_files WHERE job_id = @job AND file = @file AND chunk = 0
                """, connection);
            Add(command, "job", NpgsqlDbType.Text, jobId);
            Add(command, "file", NpgsqlDbType.Text, FileName(file));
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct)
                ? (reader.GetFieldValue<byte[]>(0), reader.GetInt64(1), reader.GetInt64(2))
                : (null, 0L, 0L);
        }, cancellationToken);
        if (content is null)
        {
            return null;
        }
        return chunks == 1
            ? new MemoryStream(content, writable: false)
            : new ChunkedReadStream(content, (position, ct) => ReadFileChunkAsync(jobId, file, position, ct), end: length);
    }

    /// <summary>Removes the job's files and log chunks.</summary>
    public Task DeleteAllAsync(string jobId, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand("""
                DELETE FROM job_files WHERE job_id = @job;
                DELETE FROM job_logs WHERE job_id = @job;
                """, connection);
            Add(command, "job", NpgsqlDbType.Text, jobId);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    /// <summary>How a file is named in <c>job_files</c>.</summary>
    internal static string FileName(JobFile file) => file switch
    {
        JobFile.Dockerfile => "dockerfile",
        JobFile.Context => "context",
        JobFile.ScanReport => "scan-report",
        JobFile.Sbom => "sbom",
        _ => throw new ArgumentOutOfRangeException(nameof(file), file, "logs are kept in job_logs"),
    };

    /// <summary>The log's name in <c>job_logs</c> (<c>build</c>, <c>run</c>), or null for a file of <c>job_files</c>.</summary>
    internal static string? LogStream(JobFile file) => file switch
    {
        JobFile.BuildLog => AgentProtocol.LogName(JobLog.Build),
        JobFile.RunLog => AgentProtocol.LogName(JobLog.Run),
        _ => null,
    };

    internal static async Task InsertFileChunkAsync(NpgsqlConnection connection, string jobId, JobFile file, int chunk, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("INSERT INTO job_files (job_id, file, chunk, content) VALUES (@job, @file, @chunk, @content)", connection);
        Add(command, "job", NpgsqlDbType.Text, jobId);
        Add(command, "file", NpgsqlDbType.Text, FileName(file));
        Add(command, "chunk", NpgsqlDbType.Integer, chunk);
        command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>>("content", NpgsqlDbType.Bytea) { TypedValue = data });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static async Task InsertLogChunkAsync(NpgsqlConnection connection, string jobId, string stream, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("INSERT INTO job_logs (job_id, stream, start_offset, data) VALUES (@job, @stream, @offset, @data)", connection);
        Add(command, "job", NpgsqlDbType.Text, jobId);
        Add(command, "stream", NpgsqlDbType.Text, stream);
        Add(command, "offset", NpgsqlDbType.Bigint, offset);
        command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>>("data", NpgsqlDbType.Bytea) { TypedValue = data });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Removes one file, or every chunk of one log.</summary>
    internal static async Task DeleteAsync(NpgsqlConnection connection, string jobId, JobFile file, CancellationToken cancellationToken)
    {
        var log = LogStream(file);
        await using var command = new NpgsqlCommand(log is null
            ? "DELETE FROM job_files WHERE job_id = @job AND file = @name"
            : "DELETE FROM job_logs WHERE job_id = @job AND stream = @name", connection);
        Add(command, "job", NpgsqlDbType.Text, jobId);
        Add(command, "name", NpgsqlDbType.Text, log ?? FileName(file));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The chunk that starts at byte <paramref name="position"/> (every chunk but the last is <see cref="ChunkBytes"/> long).</summary>
    private Task<byte[]> ReadFileChunkAsync(string jobId, JobFile file, long position, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand("SELECT content FROM job_files WHERE job_id = @job AND file = @file AND chunk = @chunk", connection);
            Add(command, "job", NpgsqlDbType.Text, jobId);
            Add(command, "file", NpgsqlDbType.Text, FileName(file));
            Add(command, "chunk", NpgsqlDbType.Integer, checked((int)(position / ChunkBytes)));
            return await command.ExecuteScalarAsync(ct) as byte[] ?? [];
        }, cancellationToken);

    /// <summary>
    /// The log's bytes from <paramref name="position"/> on, from the chunk holding it and up to
    /// <see cref="LogChunksPerRead"/> chunks in all (so that the next read starts where a chunk starts); empty at the end.
    /// </summary>
    private Task<byte[]> ReadLogAsync(string jobId, string stream, long position, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT start_offset, data FROM job_logs
                WHERE job_id = @job AND stream = @stream
                  AND start_offset >= coalesce((SELECT max(start_offset) FROM job_logs
                                                WHERE job_id = @job AND stream = @stream AND start_offset <= @position), 0)
                ORDER BY start_offset LIMIT @chunks
                """, connection);
            Add(command, "job", NpgsqlDbType.Text, jobId);
            Add(command, "stream", NpgsqlDbType.Text, stream);
            Add(command, "position", NpgsqlDbType.Bigint, position);
            Add(command, "chunks", NpgsqlDbType.Integer, LogChunksPerRead);
            using var bytes = new MemoryStream();
            long? next = null;
            var at = position;
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var start = reader.GetInt64(0);
                var data = reader.GetFieldValue<byte[]>(1);
                if (start != (next ?? start) || start > at)
                {
                    break; // chunks are contiguous; a hole means the log was rewritten meanwhile
                }
                bytes.Write(data.AsSpan((int)Math.Clamp(at - start, 0, data.Length)));
                next = start + data.Length;
                at = Math.Max(at, next.Value);
            }
            return bytes.ToArray();
        }, cancellationToken);

    /// <summary>
    /// Reads a stored file or log block after block, each fetched when the one before is used up. <c>end</c>: the length the
    /// file had when opened; a file that ends sooner was replaced or deleted while being read (an <see cref="IOException"/>).
    /// </summary>
    private sealed class ChunkedReadStream(byte[] first, Func<long, CancellationToken, Task<byte[]>> fetch, long? end, long start = 0) : Stream
    {
        private byte[] _block = first;
        private int _offset;
        private long _position = start;
        private bool _done;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.Length == 0)
            {
                return 0;
            }
            while (_offset == _block.Length)
            {
                if (_done || _position == end)
                {
                    return 0;
                }
                _block = await fetch(_position, cancellationToken);
                _offset = 0;
                if (_block.Length == 0)
                {
                    _done = true;
                    if (end is { } expected && _position != expected)
                    {
                        throw new IOException($"the stored file ended at byte {_position} of {expected}: it was replaced or deleted while being read");
                    }
                }
            }
            var count = Math.Min(buffer.Length, _block.Length - _offset);
            _block.AsMemory(_offset, count).CopyTo(buffer);
            _offset += count;
            _position += count;
            return count;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
