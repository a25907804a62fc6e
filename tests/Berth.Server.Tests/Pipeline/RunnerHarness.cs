using System.Diagnostics;
using Berth.Server.Auth;
using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Berth.Server.Submissions;
using Berth.Server.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Server.Tests.Pipeline;

/// <summary>
/// One Berth process as <see cref="BerthServices.AddBerth"/> wires it, with the slow and dangerous parts swapped:
/// <see cref="FakeEngine"/>, <see cref="FakeDataVolumes"/>, <see cref="FakeTimeProvider"/>, and build cgroups under a
/// path that cannot hold them (as on a box where Berth may not write cgroups, so the tests never touch the host's). The store is the real SQLite one in a
/// temporary data root. <see cref="NextStartAsync"/> is the next process on the same data root and engine.
/// </summary>
internal sealed class RunnerHarness : IAsyncDisposable
{
    /// <summary>Allowed, and loaded on the engine.</summary>
    public const string Dockerfile = "FROM busybox:latest\nCMD [\"true\"]\n";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>How long (real time) a pump waits for progress before it advances fake time.</summary>
    private static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(20);

    private readonly ServiceProvider _services;
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private bool _ownsRoot = true;

    private RunnerHarness(string root, IReadOnlyDictionary<string, string?> settings, FakeEngine engine, FakeDataVolumes volumes, FakeTimeProvider time)
    {
        Root = root;
        _settings = settings;
        Engine = engine;
        Volumes = volumes;
        Time = time;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Berth:DataRoot"] = root,
            ["Berth:Workers"] = "1",
            ["Scan:Enabled"] = "false",
            ["Scan:Database"] = Path.Combine(root, "no-vulndb"),
        }).AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging => logging.AddProvider(Log));
        services.AddBerth(configuration);
        services.AddSingleton<IContainerEngine>(engine);
        services.AddSingleton<IDataVolumes>(volumes);
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton(sp => new BuildCgroups(sp.GetRequiredService<IOptions<BuildOptions>>(), sp.GetRequiredService<EngineNames>())
        {
            Root = "/dev/null/cgroup", // nothing can be made there: the build goes on without its pids limit
        });
        _services = services.BuildServiceProvider();
    }

    public string Root { get; }

    public FakeEngine Engine { get; }

    public FakeDataVolumes Volumes { get; }

    public FakeTimeProvider Time { get; }

    public ListLogger Log { get; } = new();

    public IJobStore Store => _services.GetRequiredService<IJobStore>();

    public Berth.Server.Metrics.JobMetrics Metrics => _services.GetRequiredService<Berth.Server.Metrics.JobMetrics>();

    public JobService Jobs => _services.GetRequiredService<JobService>();

    public JobRunner Runner => _services.GetServices<IHostedService>().OfType<JobRunner>().Single();

    public Janitor Janitor => _services.GetRequiredService<Janitor>();

    public JobResources Resources => _services.GetRequiredService<JobResources>();

    public ActiveJobs Active => _services.GetRequiredService<ActiveJobs>();

    public EngineNames Names => _services.GetRequiredService<EngineNames>();

    public Berth.Server.Pipeline.Stages.ImageReuse Reuse => _services.GetRequiredService<Berth.Server.Pipeline.Stages.ImageReuse>();

    public RunscContainers RunscContainers => _services.GetRequiredService<RunscContainers>();

    /// <summary>A fresh data root with busybox:latest on the engine; <paramref name="settings"/> are configuration keys (<c>Build:TimeoutSeconds</c>).</summary>
    public static async Task<RunnerHarness> CreateAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var engine = new FakeEngine();
        engine.AddImage("busybox:latest");
        var harness = new RunnerHarness(Directory.CreateTempSubdirectory("berth-runner-").FullName, settings ?? new Dictionary<string, string?>(),
            engine, new FakeDataVolumes(), new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero)));
        await harness.Store.InitializeAsync(CancellationToken.None);
        return harness;
    }

    /// <summary>The next process: this one's services are gone; the data root, engine, /data volumes and clock stay.</summary>
    public async Task<RunnerHarness> NextStartAsync()
    {
        await _services.DisposeAsync();
        _ownsRoot = false;
        var next = new RunnerHarness(Root, _settings, Engine, Volumes, Time);
        await next.Store.InitializeAsync(CancellationToken.None);
        return next;
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        if (_ownsRoot)
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    public JobPaths PathsOf(string jobId) => Resources.PathsOf(jobId);

    public async Task<Job> SubmitAsync(string dockerfile = Dockerfile, LimitsRequest? limits = null, bool cache = true, string owner = Job.LocalOwner) =>
        await Jobs.SubmitAsync(new JobSubmission(dockerfile, null, null, limits ?? new LimitsRequest(null, null, null), cache),
            new Caller(owner, false), null, CancellationToken.None);

    /// <summary>What a worker does first: claims the oldest queued job.</summary>
    public async Task<Job> ClaimAsync() =>
        await Store.ClaimNextAsync(JobStatus.Linting, Time.GetUtcNow(), CancellationToken.None) ?? throw new InvalidOperationException("no job is queued");

    public async Task<Job> GetAsync(string jobId) =>
        await Store.GetAsync(jobId, CancellationToken.None) ?? throw new InvalidOperationException($"the store has no job {jobId}");

    /// <summary>Runs a claimed job on the thread pool (as a worker does); the test drives fake time with <see cref="PumpAsync"/>.</summary>
    public Task StartRun(Job claimed, CancellationToken stopping = default) => Task.Run(() => Runner.RunAsync(claimed, stopping), CancellationToken.None);

    /// <summary>Submits, claims and runs one job to its end; returns it as stored.</summary>
    public async Task<Job> RunJobAsync(string dockerfile = Dockerfile, LimitsRequest? limits = null, bool cache = true, string owner = Job.LocalOwner)
    {
        var job = await SubmitAsync(dockerfile, limits, cache, owner);
        await PumpAsync(StartRun(await ClaimAsync()));
        return await GetAsync(job.Id);
    }

    /// <summary>Advances fake time a second at a time until <paramref name="task"/> ends, then awaits it.</summary>
    public async Task PumpAsync(Task task)
    {
        await PumpUntilAsync(async () => await Task.WhenAny(task, Task.Delay(Idle, CancellationToken.None)) == task);
        await task;
    }

    /// <summary>
    /// Advances fake time by a second each time <paramref name="done"/> is still false, which takes at least
    /// <see cref="Idle"/> of real time: a job that is busy, not waiting on the clock, sees only a few fake seconds pass
    /// even on a slow machine. Fails after a few real seconds.
    /// </summary>
    private async Task PumpUntilAsync(Func<Task<bool>> done)
    {
        var clock = Stopwatch.StartNew();
        while (!await done())
        {
            if (clock.Elapsed > Deadline)
            {
                throw new TimeoutException($"still waiting after {Deadline.TotalSeconds} s (fake clock at {Time.GetUtcNow():O})");
            }
            Time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Polls the store until the job satisfies <paramref name="condition"/>, advancing fake time meanwhile.</summary>
    public Task WaitForAsync(string jobId, Func<Job, bool> condition) =>
        PumpUntilAsync(async () =>
        {
            if (await Store.GetAsync(jobId, CancellationToken.None) is { } job && condition(job))
            {
                return true;
            }
            await Task.Delay(Idle, CancellationToken.None);
            return false;
        });

    /// <summary>What every job that ended (or went back to the queue) must have left: no container, no /data, no build tar; no context once terminal.</summary>
    public void AssertReleased(Job job)
    {
        var paths = PathsOf(job.Id);
        Assert.DoesNotContain(Engine.Containers, c => EngineNames.JobOfLabels(c.View().Labels) == job.Id);
        Assert.False(Volumes.Holds(paths), "/data is still held");
        Assert.False(File.Exists(paths.EngineBuildContext), "the engine's build tar is still there");
        Assert.Equal(!job.Status.IsTerminal(), File.Exists(paths.BuildContext));
        Assert.False(Active.IsActive(job.Id), "the job is still registered as running");
    }

    /// <summary>A container script that writes <paramref name="json"/> to /data/perf.json and exits with <paramref name="exitCode"/>.</summary>
    public static Func<FakeContainer, CancellationToken, Task> WritesPerf(string json, long exitCode = 0) => async (container, token) =>
    {
        await File.WriteAllTextAsync(Path.Combine(container.Spec.HostConfig.Mounts[0].Source, PerfFileReader.FileName), json, token);
        container.Exit(exitCode);
    };

    /// <summary>A container (or build) that signals <paramref name="started"/> and then waits until it is stopped.</summary>
    public static async Task WaitUntilStopped(TaskCompletionSource started, CancellationToken cancellationToken)
    {
        started.TrySetResult();
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }
}
