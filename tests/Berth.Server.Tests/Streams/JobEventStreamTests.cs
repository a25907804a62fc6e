using System.Text;
using Berth.Server.Auth;
using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Berth.Server.Streams;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Server.Tests.Streams;

/// <summary>The event loops on a real SQLite store, writing to an output the test can stall like a client that stops reading.</summary>
public sealed class JobEventStreamTests : IDisposable
{
    private readonly BerthOptions _options = new() { DataRoot = Directory.CreateTempSubdirectory("berth-streams-").FullName };
    private readonly FakeTimeProvider _time = new();
    private readonly JobChanges _feed;
    private readonly SqliteJobStore _store;
    private int _made;

    public JobEventStreamTests()
    {
        _feed = new JobChanges(_time);
        _store = new SqliteJobStore(Options.Create(_options), _feed);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_options.DataRoot, recursive: true);
    }

    [Fact]
    public async Task AllAsync_ReaderStalledWhileThousandsOfChangesArrive_PendingStaysBoundedThenCurrentStatesFollow()
    {
        await _store.InitializeAsync(default);
        using var subscription = _feed.Subscribe();
        var output = new StallingStream();
        using var stop = new CancellationTokenSource();
        var streaming = new JobEventStream(_store, _time).AllAsync(new Caller("local", IsAdmin: true), subscription, new ServerSentEvents(output), stop.Token);

        var first = await EnqueueAsync();
        await WaitForAsync(() => output.Text.Contains(first.Id, StringComparison.Ordinal));
        output.Stall();
        await EnqueueAsync();
        await WaitForAsync(() => output.Waiting); // the loop is stuck writing, as on a client that reads nothing
        var jobs = new List<Job>();
        for (var i = 0; i < 150; i++)
        {
            jobs.Add(await EnqueueAsync());
        }
        for (var i = 0; i < 3 * JobChanges.Capacity; i++)
        {
            _feed.Publish($"deleted{i}"); // as a store does for jobs that are gone by the time they are read
            Assert.InRange(subscription.PendingCount, 0, JobChanges.Capacity);
        }
        var writtenWhileStalled = output.Length;
        output.Resume();
        var newest = jobs[^1];
        Assert.True(await _store.CancelIfQueuedAsync(newest.Id, _time.GetUtcNow(), default));
        await WaitForAsync(() => output.Text.Contains("\"status\":\"canceled\"", StringComparison.Ordinal));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => streaming);

        var events = output.Text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(events.Length, 3, 2 + JobEventStream.RescanJobs + 2); // coalesced: far fewer than the 3224 changes
        Assert.InRange(writtenWhileStalled, 0, 8 * 1024); // nothing piled up while the client did not read
        Assert.Contains($"\"id\":\"{newest.Id}\"", events[^1], StringComparison.Ordinal);
        Assert.Contains("\"status\":\"canceled\"", events[^1], StringComparison.Ordinal);
        var ids = events.Select(e => e.Split('\n').Single(l => l.StartsWith("id: ", StringComparison.Ordinal))[4..]).Select(long.Parse).ToList();
        Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => (long)i), ids);
    }

    [Fact]
    public async Task OneAsync_NothingHappensFor15Seconds_SendsAKeepAliveComment()
    {
        await _store.InitializeAsync(default);
        var job = await EnqueueAsync();
        using var subscription = _feed.Subscribe(job.Id);
        var output = new StallingStream();
        using var stop = new CancellationTokenSource();
        var streaming = new JobEventStream(_store, _time).OneAsync(job, subscription, new ServerSentEvents(output), stop.Token);
        await WaitForAsync(() => output.Text.StartsWith("event: job\nid: 1\ndata: {", StringComparison.Ordinal));
        await Task.Delay(200); // the loop is waiting (on the fake clock) before the clock moves

        _time.Advance(TimeSpan.FromSeconds(14));
        await Task.Delay(100);
        Assert.DoesNotContain(": keep-alive", output.Text, StringComparison.Ordinal);
        _time.Advance(TimeSpan.FromSeconds(1));
        await WaitForAsync(() => output.Text.EndsWith("\n\n: keep-alive\n\n", StringComparison.Ordinal));

        Assert.True(await _store.CancelIfQueuedAsync(job.Id, _time.GetUtcNow(), default));
        await streaming.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("\"status\":\"canceled\"", output.Text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[^2], StringComparison.Ordinal);
        Assert.EndsWith("event: end\ndata: {}\n\n", output.Text, StringComparison.Ordinal);
    }

    private async Task<Job> EnqueueAsync()
    {
        var n = Interlocked.Increment(ref _made);
        var job = new Job(n.ToString("x32"), 0, null, JobStatus.Queued, new JobLimits(60, 256, 0.5, 64), null, _time.GetUtcNow(), null, null, null, null,
            [new("lint", StageStatus.Pending, null, null), new("build", StageStatus.Pending, null, null)], null, null, [], 0);
        return (await _store.TryEnqueueAsync(job, int.MaxValue, default))!;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true in time");
            await Task.Delay(10);
        }
    }

    /// <summary>An output that keeps what it is given; while stalled, a write waits until it resumes.</summary>
    private sealed class StallingStream : Stream
    {
        private readonly Lock _gate = new();
        private readonly MemoryStream _written = new();
        private TaskCompletionSource _open = Opened();
        private volatile bool _waiting;

        public bool Waiting => _waiting;

        public string Text
        {
            get
            {
                lock (_gate)
                {
                    return Encoding.UTF8.GetString(_written.ToArray());
                }
            }
        }

        public override long Length
        {
            get
            {
                lock (_gate)
                {
                    return _written.Length;
                }
            }
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Stall()
        {
            lock (_gate)
            {
                _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public void Resume()
        {
            lock (_gate)
            {
                _open.TrySetResult();
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Task open;
            lock (_gate)
            {
                open = _open.Task;
            }
            _waiting = !open.IsCompleted;
            await open.WaitAsync(cancellationToken);
            _waiting = false;
            lock (_gate)
            {
                _written.Write(buffer.Span);
            }
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        private static TaskCompletionSource Opened()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }
    }
}
