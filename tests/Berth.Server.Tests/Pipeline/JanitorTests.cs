using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Berth.Server.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Pipeline;

/// <summary>
/// The janitor: with an engine that does not answer and a store fake, and (<see cref="RunnerHarness"/>) with the fake
/// engine, the real store and fake time.
/// </summary>
public sealed class JanitorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-janitor-").FullName;
    private readonly ListLogger _log = new();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private Janitor Create(IJobLedger store, RunscContainers? containers = null)
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
    public async Task SweepAsync_EngineDown_LogsThoseFailuresAndKeepsJobDirectoriesAContainerMightStillUse()
    {
        var options = Options.Create(new BerthOptions { DataRoot = _root });
        var containers = new RunscContainers(options);
        containers.Record(new string('a', 64));
        var directory = OldJobDirectory("gone");

        await Create(new StoreFake(_ => null), containers).SweepAsync(CancellationToken.None);

        Assert.True(Directory.Exists(directory)); // the engine cannot say no container of the job still runs
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

    [Fact]
    public async Task SweepAsync_Containers_RemovesThoseOfFinishedAndUnknownJobsOfThisInstanceOnly()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var finished = await FinishedJobAsync(h);
        var running = await RunningJobAsync(h);
        var queued = await h.SubmitAsync();
        AddContainer(h, finished.Id);
        AddContainer(h, "f00d"); // a job the store does not know
        var kept = new[]
        {
            AddContainer(h, running.Id),
            AddContainer(h, queued.Id),
            h.Engine.AddContainer(new Dictionary<string, string> { [EngineNames.JobLabel] = finished.Id, [EngineNames.InstanceLabel] = OtherInstance },
                $"berth-{OtherInstance}-job-{finished.Id}"),
        };

        await h.Janitor.SweepAsync(CancellationToken.None);

        Assert.Equal(kept.Order(), h.Engine.Containers.Select(c => c.Id).Order());
    }

    [Fact]
    public async Task SweepAsync_JobImages_RemovesEachOnceItsRetentionHasPassedAndNeverAnotherInstances()
    {
        await using var h = await RunnerHarness.CreateAsync(new Dictionary<string, string?> { ["Build:ImageRetentionSeconds"] = "600" });
        var finished = await FinishedJobAsync(h);
        var running = await RunningJobAsync(h);
        var foreign = $"berth-{OtherInstance}/job-{finished.Id}";
        foreach (var tag in new[] { h.Names.ImageTag(finished.Id), h.Names.ImageTag(running.Id), h.Names.ImageTag("f00d"), foreign })
        {
            h.Engine.AddImage(tag);
        }

        await h.Janitor.SweepAsync(CancellationToken.None);

        Assert.True(h.Engine.HasImage(h.Names.ImageTag(finished.Id))); // finished just now: retained
        Assert.False(h.Engine.HasImage(h.Names.ImageTag("f00d")));

        h.Time.Advance(TimeSpan.FromSeconds(601));
        await h.Janitor.SweepAsync(CancellationToken.None);

        Assert.False(h.Engine.HasImage(h.Names.ImageTag(finished.Id)));
        Assert.True(h.Engine.HasImage(h.Names.ImageTag(running.Id)));
        Assert.True(h.Engine.HasImage(foreign));
    }

    [Fact]
    public async Task SweepAsync_DanglingBuildLayers_RemovesThisInstancesOnesOnceTheRetentionHasPassed()
    {
        await using var h = await RunnerHarness.CreateAsync(new Dictionary<string, string?> { ["Build:ImageRetentionSeconds"] = "600" });
        var now = h.Time.GetUtcNow();
        var ours = new Dictionary<string, string> { [EngineNames.InstanceLabel] = h.Names.Instance, [EngineNames.CacheLabel] = "k" };
        var old = h.Engine.AddLayer(ours, now - TimeSpan.FromMinutes(20));
        var young = h.Engine.AddLayer(ours, now - TimeSpan.FromMinutes(1));
        var foreign = h.Engine.AddLayer(new Dictionary<string, string> { [EngineNames.InstanceLabel] = OtherInstance }, now - TimeSpan.FromMinutes(20));

        await h.Janitor.SweepAsync(CancellationToken.None);

        Assert.False(h.Engine.HasImage(old.Id));
        Assert.True(h.Engine.HasImage(young.Id));

        h.Time.Advance(TimeSpan.FromMinutes(10));
        await h.Janitor.SweepAsync(CancellationToken.None);

        Assert.False(h.Engine.HasImage(young.Id));
        Assert.True(h.Engine.HasImage(foreign.Id));
    }

    [Fact]
    public async Task SweepAsync_UnknownJobDirectory_RemovedOnlyAfterTheGracePeriod()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var directory = Path.Combine(h.Root, "jobs", "f00d");
        Directory.CreateDirectory(directory);
        Directory.SetLastWriteTimeUtc(directory, h.Time.GetUtcNow().UtcDateTime); // the janitor compares its clock with the directory's mtime

        await h.Janitor.SweepAsync(CancellationToken.None);
        Assert.True(Directory.Exists(directory)); // it may be a submission in progress

        h.Time.Advance(Janitor.UnknownDirectoryGrace + TimeSpan.FromSeconds(1));
        await h.Janitor.SweepAsync(CancellationToken.None);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task SweepAsync_JobsHoldingData_ReleasesAFinishedJobsAndKeepsItsFilesAndARunningJobs()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var finished = await FinishedJobAsync(h);
        var running = await RunningJobAsync(h);
        foreach (var job in new[] { finished, running })
        {
            await h.Volumes.PrepareAsync(h.PathsOf(job.Id), 4, 100_000, CancellationToken.None);
        }
        h.Time.Advance(Janitor.UnknownDirectoryGrace * 2);

        await h.Janitor.SweepAsync(CancellationToken.None);

        Assert.False(h.Volumes.Holds(h.PathsOf(finished.Id)));
        Assert.True(File.Exists(h.PathsOf(finished.Id).Dockerfile));
        Assert.True(h.Volumes.Holds(h.PathsOf(running.Id)));
    }

    private const string OtherInstance = "0123456789ab";

    private static string AddContainer(RunnerHarness h, string jobId) => h.Engine.AddContainer(h.Names.ContainerLabels(jobId), h.Names.ContainerName(jobId));

    /// <summary>A job that failed just now (fake time).</summary>
    private static async Task<Job> FinishedJobAsync(RunnerHarness h)
    {
        await h.SubmitAsync();
        var job = await h.ClaimAsync() with
        {
            Status = JobStatus.Failed,
            FinishedAt = h.Time.GetUtcNow(),
            Failure = new JobFailure(FailureReasons.NonzeroExit, "the job exited with code 1"),
        };
        await h.Store.SaveAsync(job, CancellationToken.None);
        return job;
    }

    /// <summary>A job a worker here is running.</summary>
    private static async Task<Job> RunningJobAsync(RunnerHarness h)
    {
        await h.SubmitAsync();
        var job = await h.ClaimAsync() with { Status = JobStatus.Running };
        await h.Store.SaveAsync(job, CancellationToken.None);
        h.Active.Register(job.Id);
        return job;
    }

    private sealed class StoreFake(Func<string, Job?> get) : IJobLedger
    {
        public Task<Job?> GetAsync(string id, CancellationToken cancellationToken) => Task.FromResult(get(id));

        public Task<Job?> ClaimNextAsync(JobStatus status, DateTimeOffset now, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task SaveAsync(Job job, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
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
