using Berth.Server.Jobs;
using Berth.Server.Storage.Postgres;

namespace Berth.Server.Tests.Storage.Postgres;

/// <summary>Job files in the shared database: chunked files read back whole and lazily, logs from their chunks, deletes.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresJobFilesTests(PostgresFixture fixture) : IAsyncLifetime
{
    private const int Chunk = PostgresJobFiles.ChunkBytes;
    private TestDatabase _db = null!;
    private PostgresJobFiles _files = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync(fixture.Cluster);
        _files = new PostgresJobFiles(await _db.OpenInitializedAsync());
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    public static TheoryData<int> Sizes => new(0, 1, 4096, Chunk - 1, Chunk, Chunk + 1, 2 * Chunk, 2 * Chunk + Chunk / 2);

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task WriteAsync_AnySize_ReadsBackTheSameBytesFromChunksOfAtMostChunkBytes(int size)
    {
        var content = RandomBytes(size, seed: size);

        await _files.WriteAsync("job1", JobFile.Context, new MemoryStream(content), default);

        Assert.Equal(content, await ReadAllAsync("job1", JobFile.Context));
        var chunks = await _db.ColumnAsync<int>("SELECT length(content) FROM job_files WHERE job_id = 'job1' ORDER BY chunk");
        Assert.Equal(Math.Max(1, (size + Chunk - 1) / Chunk), chunks.Count);
        Assert.All(chunks[..^1], length => Assert.Equal(Chunk, length));
        Assert.Equal(size, chunks.Sum());
    }

    [Fact]
    public async Task WriteAsync_FromAStreamThatCannotSeek_StoresEveryByte()
    {
        var content = RandomBytes(Chunk + 777, seed: 1);

        await _files.WriteAsync("job1", JobFile.Context, new ForwardOnlyStream(content), default);

        Assert.Equal(content, await ReadAllAsync("job1", JobFile.Context));
    }

    [Fact]
    public async Task WriteAsync_Again_ReplacesTheWholeFile()
    {
        await _files.WriteAsync("job1", JobFile.Context, new MemoryStream(RandomBytes(3 * Chunk, seed: 1)), default);
        var smaller = RandomBytes(100, seed: 2);

        await _files.WriteAsync("job1", JobFile.Context, new MemoryStream(smaller), default);

        Assert.Equal(smaller, await ReadAllAsync("job1", JobFile.Context));
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM job_files WHERE job_id = 'job1'"));
    }

    [Fact]
    public async Task OpenReadAsync_NoSuchFile_ReturnsNull()
    {
        await _files.WriteAsync("job1", JobFile.Dockerfile, new MemoryStream("FROM scratch\n"u8.ToArray()), default);

        Assert.Null(await _files.OpenReadAsync("job1", JobFile.Sbom, default));
        Assert.Null(await _files.OpenReadAsync("job2", JobFile.Dockerfile, default));
        Assert.Null(await _files.OpenReadAsync("job1", JobFile.BuildLog, default));
        Assert.Equal("FROM scratch\n"u8.ToArray(), await ReadAllAsync("job1", JobFile.Dockerfile));
    }

    [Fact]
    public async Task OpenReadAsync_FileDeletedAfterItsFirstChunkWasRead_FailsInsteadOfEndingShort()
    {
        var content = RandomBytes(3 * Chunk, seed: 3);
        await _files.WriteAsync("job1", JobFile.Context, new MemoryStream(content), default);
        await using var stream = (await _files.OpenReadAsync("job1", JobFile.Context, default))!;
        var first = new byte[Chunk];
        await stream.ReadExactlyAsync(first);

        await _files.DeleteAllAsync("job1", default); // the next chunk is fetched only now

        Assert.Equal(content[..Chunk], first);
        await Assert.ThrowsAsync<IOException>(() => stream.CopyToAsync(Stream.Null));
    }

    [Fact]
    public async Task OpenReadAsync_LogInChunksStoredOutOfOrder_ReadsThemInOffsetOrder()
    {
        // Many more chunks than one read fetches, inserted newest first.
        var chunks = Enumerable.Range(0, 100).Select(i => System.Text.Encoding.UTF8.GetBytes($"line {i}\n")).ToList();
        var offsets = chunks.Select((c, i) => chunks.Take(i).Sum(x => x.Length)).ToList();
        for (var i = chunks.Count - 1; i >= 0; i--)
        {
            await _db.ExecuteAsync("INSERT INTO job_logs (job_id, stream, start_offset, data) VALUES ('job1', 'build', @o, @d)", ("o", (long)offsets[i]), ("d", chunks[i]));
        }
        await _db.ExecuteAsync("INSERT INTO job_logs (job_id, stream, start_offset, data) VALUES ('job1', 'run', 0, 'other log'::bytea)");

        Assert.Equal(chunks.SelectMany(c => c).ToArray(), await ReadAllAsync("job1", JobFile.BuildLog));
        Assert.Equal("other log"u8.ToArray(), await ReadAllAsync("job1", JobFile.RunLog));
    }

    [Fact]
    public async Task WriteAsync_Log_ReplacesItsChunksAndReadsBack()
    {
        await _db.ExecuteAsync("INSERT INTO job_logs (job_id, stream, start_offset, data) VALUES ('job1', 'run', 0, 'old'::bytea), ('job1', 'run', 3, 'er'::bytea)");
        var log = RandomBytes(Chunk + 5, seed: 4);

        await _files.WriteAsync("job1", JobFile.RunLog, new MemoryStream(log), default);

        Assert.Equal(log, await ReadAllAsync("job1", JobFile.RunLog));
        Assert.Equal([0L, Chunk], await _db.ColumnAsync<long>("SELECT start_offset FROM job_logs WHERE job_id = 'job1' ORDER BY start_offset"));
    }

    [Fact]
    public async Task DeleteAllAsync_JobWithFilesAndLogs_RemovesThemAndLeavesOtherJobsAlone()
    {
        foreach (var job in new[] { "job1", "job2" })
        {
            await _files.WriteAsync(job, JobFile.Context, new MemoryStream(RandomBytes(Chunk + 1, seed: 5)), default);
            await _files.WriteAsync(job, JobFile.Sbom, new MemoryStream("{}"u8.ToArray()), default);
            await _files.WriteAsync(job, JobFile.BuildLog, new MemoryStream("log"u8.ToArray()), default);
        }

        await _files.DeleteAllAsync("job1", default);

        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT (SELECT count(*) FROM job_files WHERE job_id = 'job1') + (SELECT count(*) FROM job_logs WHERE job_id = 'job1')"));
        Assert.Null(await _files.OpenReadAsync("job1", JobFile.Context, default));
        Assert.Equal("{}"u8.ToArray(), await ReadAllAsync("job2", JobFile.Sbom));
        Assert.Equal("log"u8.ToArray(), await ReadAllAsync("job2", JobFile.BuildLog));
    }

    [Theory]
    [InlineData(JobStatus.Succeeded, true)]
    [InlineData(JobStatus.Running, false)]
    public async Task DeleteIfTerminalAsync_OfTheJobStore_RemovesTheFilesOfExactlyTheJobsItDeletes(JobStatus status, bool deleted)
    {
        var store = new PostgresJobStore(await _db.OpenInitializedAsync());
        var job = await store.TryEnqueueAsync(new Job("job1", 0, null, JobStatus.Queued, new JobLimits(60, 256, 1), null,
            new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), null, null, null, null, [], null, null, [], 0), 10, default);
        await store.SaveAsync(job! with { Status = status }, default);
        await _files.WriteAsync("job1", JobFile.Context, new MemoryStream(RandomBytes(10, seed: 6)), default);
        await _files.WriteAsync("job1", JobFile.RunLog, new MemoryStream("log"u8.ToArray()), default);

        Assert.Equal(deleted, await store.DeleteIfTerminalAsync("job1", default));

        Assert.Equal(deleted, await _files.OpenReadAsync("job1", JobFile.Context, default) is null);
        Assert.Equal(deleted, await _files.OpenReadAsync("job1", JobFile.RunLog, default) is null);
    }

    [Fact]
    public async Task WriteAndRead_AfterAnImmediateRestart_WorkOnFreshConnections()
    {
        var content = RandomBytes(Chunk + 3, seed: 7);
        await _files.WriteAsync("job1", JobFile.Context, new MemoryStream(content), default);

        await _db.CrashAndRestartAsync(fixture.Cluster);

        Assert.Equal(content, await ReadAllAsync("job1", JobFile.Context));
        await _files.WriteAsync("job2", JobFile.Sbom, new MemoryStream("{}"u8.ToArray()), default);
        Assert.Equal("{}"u8.ToArray(), await ReadAllAsync("job2", JobFile.Sbom));
    }

    private async Task<byte[]> ReadAllAsync(string jobId, JobFile file)
    {
        await using var stream = await _files.OpenReadAsync(jobId, file, default) ?? throw new InvalidOperationException($"{jobId} has no {file}");
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy, 4000); // reads that end inside chunks
        return copy.ToArray();
    }

    private static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A request body: read once, front to back.</summary>
    private sealed class ForwardOnlyStream(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }
    }
}
