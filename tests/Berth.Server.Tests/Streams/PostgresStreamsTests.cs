using System.Text;
using Berth.Server.Metrics;
using Berth.Server.Fleet;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Storage;
using Berth.Server.Storage.Postgres;
using Berth.Server.Streams;
using Berth.Server.Tests.Api;
using Berth.Server.Tests.Storage;
using Berth.Server.Tests.Storage.Postgres;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Streams;

/// <summary>
/// Several API servers (and agents) on one PostgreSQL: a change made through one server's store reaches the change feed
/// of another (database notifications), and a log followed on one server grows as an agent appends through another.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStreamsTests(PostgresFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    private readonly List<PostgresDatabase> _servers = [];
    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync(fixture.Cluster);

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
        await _db.DisposeAsync();
    }

    private async Task<PostgresDatabase> ServerAsync(JobChanges? feed)
    {
        var server = new PostgresDatabase(Options.Create(new StoreOptions { Provider = "postgres", ConnectionString = _db.ConnectionString }), changes: feed);
        _servers.Add(server);
        await server.InitializeAsync(default);
        return server;
    }

    [Fact]
    public async Task Feed_ChangesMadeThroughAnotherServer_ReachThisServersSubscribers()
    {
        var feed = new JobChanges(TimeProvider.System);
        using var all = feed.Subscribe();
        await ServerAsync(feed);
        // Listening begins with "anything may have changed" (what changed before was not heard): from then on every change is.
        Assert.True((await all.WaitAsync(TimeSpan.FromSeconds(10), default)).Everything);
        var other = await ServerAsync(null);
        var jobs = new PostgresJobStore(other);
        var fleet = new PostgresFleetStore(other, new JobMetrics());

        var job = (await jobs.TryEnqueueAsync(NewJob(1), 100, default))!;
        Assert.Equal([job.Id], await NextAsync(all));
        using var logs = feed.Subscribe(job.Id, logs: true);
        var lease = (await fleet.ClaimAsync("agent-1", JobStatus.Linting, Lease, default))!;
        Assert.Equal([job.Id], await NextAsync(all));
        Assert.Equal([job.Id], await NextAsync(logs));

        await fleet.AppendLogAsync(job.Id, lease.Token, JobLog.Build, 0, "hello\n"u8.ToArray(), 1 << 20, default);
        Assert.Equal([job.Id], await NextAsync(logs));

        // A heartbeat that changes nothing a client sees, and the log append, are not job changes: the next change
        // the feed passes on is another job's (notifications arrive in commit order).
        Assert.True((await fleet.RenewAsync(job.Id, lease.Token, null, Lease, default)).Held);
        var second = (await jobs.TryEnqueueAsync(NewJob(2), 100, default))!;
        Assert.Equal([second.Id], await NextAsync(all));

        Assert.True(await fleet.CompleteAsync(job.Id, lease.Token, lease.Job with { Status = JobStatus.Succeeded, Performance = 1 }, default));
        Assert.Equal([job.Id], await NextAsync(all));
        Assert.True(await jobs.DeleteIfTerminalAsync(job.Id, default));
        Assert.Equal([job.Id], await NextAsync(all));
    }

    [Fact]
    public async Task LogsFollow_OnPostgres_StreamsChunksAnAgentAppendsThroughAnotherServerUntilTheJobEnds()
    {
        await using var api = new BerthApiFactory(new Dictionary<string, string>
        {
            ["Store:Provider"] = "postgres",
            ["Store:ConnectionString"] = _db.ConnectionString,
        });
        using var client = api.CreateClient();
        var id = (await new BerthApi(client).SubmitTextAsync("FROM busybox:latest\nCMD [\"true\"]\n")).Id;
        var fleet = new PostgresFleetStore(await ServerAsync(null), new JobMetrics());
        var lease = (await fleet.ClaimAsync("agent-1", JobStatus.Building, Lease, default))!;
        Assert.Equal(id, lease.Job.Id);

        using var response = await client.OpenAsync($"/api/v1/jobs/{id}/logs?follow=true");
        await using var body = await response.Content.ReadAsStreamAsync();
        var received = new StringBuilder();
        await StreamRequests.ReadUntilAsync(body, received, "==> build log <==\n");
        long offset = 0;
        for (var i = 0; i < 4; i++)
        {
            var chunk = Encoding.UTF8.GetBytes($"build chunk {i}\n");
            await fleet.AppendLogAsync(id, lease.Token, JobLog.Build, offset, chunk, 1 << 20, default);
            offset += chunk.Length;
            await StreamRequests.ReadUntilAsync(body, received, $"build chunk {i}\n", seconds: 4); // announced, not polled (every 5 s)
        }
        await fleet.RenewAsync(id, lease.Token, lease.Job with { Status = JobStatus.Running }, Lease, default);
        await StreamRequests.ReadUntilAsync(body, received, "\n==> run log <==\n", seconds: 4);
        await fleet.AppendLogAsync(id, lease.Token, JobLog.Run, 0, "ran\n"u8.ToArray(), 1 << 20, default);
        await StreamRequests.ReadUntilAsync(body, received, "ran\n", seconds: 4);
        Assert.True(await fleet.CompleteAsync(id, lease.Token, lease.Job with { Status = JobStatus.Succeeded }, default));
        received.Append(await StreamRequests.ReadToEndAsync(body));

        Assert.Equal("==> build log <==\nbuild chunk 0\nbuild chunk 1\nbuild chunk 2\nbuild chunk 3\n\n==> run log <==\nran\n", received.ToString());
        Assert.Equal(received.ToString(), await new BerthApi(client).LogsAsync(id));
    }

    [Fact]
    public async Task OpenReadAsync_FromAnyOffset_ReadsTheLogFromThatByte()
    {
        var server = await ServerAsync(null);
        var jobs = new PostgresJobStore(server);
        var fleet = new PostgresFleetStore(server, new JobMetrics());
        var files = new PostgresJobFiles(server);
        var job = (await jobs.TryEnqueueAsync(NewJob(1), 100, default))!;
        var lease = (await fleet.ClaimAsync("agent-1", JobStatus.Building, Lease, default))!;
        var log = Encoding.UTF8.GetBytes("abcde" + "fghijkl" + "mno");
        foreach (var (start, length) in new[] { (0, 5), (5, 7), (12, 3) })
        {
            await fleet.AppendLogAsync(job.Id, lease.Token, JobLog.Build, start, log.AsMemory(start, length), 1 << 20, default);
        }

        for (var offset = 0; offset <= log.Length + 2; offset++)
        {
            await using var stream = await files.OpenReadAsync(job.Id, JobFile.BuildLog, offset, default);
            var read = stream is null ? [] : await ReadAllAsync(stream);
            Assert.Equal(log.Skip(offset).ToArray(), read);
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var bytes = new MemoryStream();
        await stream.CopyToAsync(bytes);
        return bytes.ToArray();
    }

    private static async Task<string[]> NextAsync(JobChangeSubscription subscription)
    {
        var changed = await subscription.WaitAsync(TimeSpan.FromSeconds(10), default);
        Assert.False(changed.Everything);
        return [.. changed.JobIds];
    }

    private static Job NewJob(int n) => new(n.ToString("x32"), 0, null, JobStatus.Queued, new JobLimits(60, 256, 0.5, 64), null, DateTimeOffset.UtcNow,
        null, null, null, null, [new("lint", StageStatus.Pending, null, null), new("build", StageStatus.Pending, null, null)], null, null, [], 0);
}
