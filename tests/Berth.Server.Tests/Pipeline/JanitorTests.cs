using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Berth.Server.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Pipeline;

/// <summary>The janitor with an engine that does not answer (a socket nobody listens on) and a store fake.</summary>
public sealed class JanitorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-janitor-").FullName;
    private readonly ListLogger _log = new();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private Janitor Create(IJobStore store, RunscContainers? containers = null)
    {
        var options = Options.Create(new BerthOptions { DataRoot = _root });
        var engine = new FakeEngine { Down = true };
        var names = new EngineNames(InstanceIdentity.LoadOrCreate(_root).Id);
        var active = new ActiveJobs();
        var runsc = containers ?? new RunscContainers(options);
        var cgroups = new BuildCgroups(Options.Create(new BuildOptions()), names);
        var resources = new JobResources(engine, names, new FakeDataVolumes(), cgroups, runsc, active, options, NullLogger<JobResources>.Instance);
        return new Janitor(store, engine, names, resources, cgroups, runsc, active, options, Options.Create(new BuildOptions()), TimeProvider.System, _log);
    }

    private string OldJobDirectory(string jobId)
    {
        var directory = Path.Combine(_root, "jobs", jobId);
        Directory.CreateDirectory(directory);
        Directory.SetLastWriteTimeUtc(directory, DateTime.UtcNow - Janitor.UnknownDirectoryGrace - TimeSpan.FromMinutes(1));
        return directory;
    }

    [Fact]
    public async Task SweepAsync_EngineDown_LogsThoseFailuresAndStillSweepsTheJobDirectories()
    {
        var options = Options.Create(new BerthOptions { DataRoot = _root });
        var containers = new RunscContainers(options);
        containers.Record(new string('a', 64));
        var directory = OldJobDirectory("gone");

        await Create(new StoreFake(_ => null), containers).SweepAsync(CancellationToken.None);

        Assert.False(Directory.Exists(directory));
        Assert.Equal(["containers", "images", "build layers", "gVisor processes"], _log.FailedParts());
        Assert.Equal([new string('a', 64)], containers.List()); // not forgotten while the engine cannot tell
    }

    [Fact]
    public async Task SweepAsync_StoreThrows_LogsEachDirectoryAndReturns()
    {
        var first = OldJobDirectory("one");
        var second = OldJobDirectory("two");

        await Create(new StoreFake(_ => throw new InvalidOperationException("database is locked"))).SweepAsync(CancellationToken.None);

        Assert.True(Directory.Exists(first));
        Assert.True(Directory.Exists(second));
        Assert.Equal(["job directory one", "job directory two"], _log.FailedParts().Where(p => p.StartsWith("job", StringComparison.Ordinal)).Order());
        Assert.All(_log.Entries.Where(e => e.Exception is InvalidOperationException), e => Assert.Equal(LogLevel.Warning, e.Level));
    }

    [Fact]
    public async Task SweepAsync_Canceled_Throws()
    {
        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Create(new StoreFake(_ => null)).SweepAsync(canceled.Token));
    }

    [Fact]
    public void RunscContainers_RecordListForget_KeepsOneEntryPerContainer()
    {
        var containers = new RunscContainers(Options.Create(new BerthOptions { DataRoot = _root }));
        containers.Record(new string('a', 64));
        containers.Record(new string('a', 64));
        containers.Record(new string('b', 64));
        containers.Forget(new string('b', 64));

        Assert.Equal([new string('a', 64)], containers.List());
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("abc")]
    public void RunscContainers_Record_RefusesWhatIsNotAContainerId(string id) =>
        Assert.Throws<ArgumentException>(() => new RunscContainers(Options.Create(new BerthOptions { DataRoot = _root })).Record(id));

    private sealed class StoreFake(Func<string, Job?> get) : IJobStore
    {
        public Task<Job?> GetAsync(string id, CancellationToken cancellationToken) => Task.FromResult(get(id));

        public Task InitializeAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Job?> TryEnqueueAsync(Job job, int queueCap, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<Job>> ListAsync(string? owner, JobStatus? status, int limit, string? afterId, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<Job?> ClaimNextAsync(JobStatus status, DateTimeOffset now, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task SaveAsync(Job job, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> CancelIfQueuedAsync(string id, DateTimeOffset now, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> DeleteIfTerminalAsync(string id, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<int> CountQueuedAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task CheckWritableAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class ListLogger : ILogger<Janitor>
    {
        public List<(LogLevel Level, EventId Id, string Message, Exception? Exception)> Entries { get; } = [];

        /// <summary>The parts named by "sweeping {Part} failed" lines, in order.</summary>
        public IEnumerable<string> FailedParts() => Entries.Where(e => e.Id.Id == 100)
            .Select(e => e.Message["Janitor: sweeping ".Length..e.Message.IndexOf(" failed", StringComparison.Ordinal)]);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, eventId, formatter(state, exception), exception));
            }
        }
    }
}
