using System.Globalization;
using Berth.Scanner;
using Berth.Server.Configuration;
using Berth.Server.Contexts;
using Berth.Server.Dockerfiles;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline.Stages;

/// <summary>
/// Builds the image on the engine. Every FROM image (already allowed by lint) must be on the engine — an
/// absent one fails the job (<c>base_image_missing</c>) without registry traffic unless <c>Build:Pull</c>
/// allows it — and its ONBUILD triggers pass the same rules as the Dockerfile. The engine builds a copy of the
/// Dockerfile with one line after each FROM that labels every layer with this instance and the owner's cache
/// key (so one owner never hits another's build cache) and, where the base has one, turns its health check off.
/// While it runs, its disk use (<c>Build:MaxImageMb</c>) and output (<c>Build:MaxOutputMb</c>) are watched.
/// </summary>
public sealed class BuildStage(IContainerEngine engine, JobResources resources, BuildDiskWatch disk, ImageReuse reuse,
    HardeningProfile profile, EngineNames names, InstanceIdentity identity, AllowedImages allowed, ActiveJobs active,
    IOptions<BuildOptions> buildOptions, IOptions<BerthOptions> berthOptions, TimeProvider time) : IJobStage
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(1);

    /// <summary>The stage's name in the job view.</summary>
    public const string StageName = "build";

    public string Name => StageName;

    public JobStatus Status => JobStatus.Building;

    public async Task<StageOutcome> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var options = buildOptions.Value;
        var document = context.Document ?? throw new InvalidOperationException("the lint stage did not run");
        using var log = new CappedLogWriter(context.Paths.BuildLog, berthOptions.Value.LogCapKb * 1024L);

        var (healthChecked, bases, refused) = await CheckBaseImagesAsync(document, log, cancellationToken);
        if (refused is not null)
        {
            return refused;
        }
        var cacheKey = identity.CacheKeyFor(context.Job.Owner);
        var dockerfile = EngineDockerfile(await File.ReadAllTextAsync(context.Paths.Dockerfile, cancellationToken), document, cacheKey, healthChecked);
        string? contentKey = null;
        if (bases is not null) // a job that builds with "cache": false still labels its image for later identical ones
        {
            // What the engine builds (Berth's lines included) and how (every build parameter but the job's own tag and cgroup).
            var recipe = dockerfile + "\n" + string.Join("\n", profile.ForBuild("-", null)
                .Where(p => p.Key is not ("t" or "cgroupparent" or "labels")).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
            contentKey = await ImageReuse.KeyAsync(context.Paths.BuildContext, bases, cacheKey, recipe, cancellationToken);
            if (context.Job.Cache && await ReuseAsync(context, contentKey, cacheKey, log, cancellationToken))
            {
                return StageOutcome.Completed;
            }
        }
        await BuildTar.WriteAsync(context.Paths.BuildContext, context.Paths.EngineBuildContext, dockerfile, cancellationToken);

        var tracker = new BuildProgress(log, Units.Mebibytes(options.MaxOutputMb));
        var (cgroupParent, problem) = resources.CreateBuildCgroup(context.Job.Id);
        if (problem is not null)
        {
            log.Write($"[berth] {problem}\n");
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.TimeoutSeconds), time);
        using var limit = new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, limit.Token);
        tracker.OverLimit = limit.Cancel;
        var started = time.GetUtcNow().AddSeconds(-2);
        var cacheLabel = EngineNames.CacheFilter(cacheKey);
        var watch = WatchDiskAsync(context.Job.Id, cacheLabel, started, tracker, limit, linked.Token);
        try
        {
            await using var tar = new FileStream(context.Paths.EngineBuildContext, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
            await engine.BuildAsync(tar, profile.ForBuild(context.Job.Id, cgroupParent, contentKey), tracker.Report, linked.Token);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            log.Write($"\n[berth] build stopped: {tracker.LimitProblem}\n");
            return StageOutcome.Failed(FailureReasons.BuildLimitExceeded, $"{tracker.LimitProblem}{tracker.AtStep}");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            log.Write($"\n[berth] build stopped: it ran longer than {options.TimeoutSeconds} s\n");
            return StageOutcome.Failed(FailureReasons.Timeout,
                string.Create(CultureInfo.InvariantCulture, $"the build ran longer than its {options.TimeoutSeconds} s limit (Build:TimeoutSeconds) and was stopped{tracker.AtStep}"));
        }
        catch (EngineBuildException e)
        {
            log.Write($"\n[berth] the engine refused the build: {e.Message}\n");
            return StageOutcome.Failed(FailureReasons.BuildFailed, $"the engine refused the build: {Ellipsis.Truncate(e.Message.Trim(), 500)}");
        }
        finally
        {
            var built = tracker.Error is null && !linked.IsCancellationRequested;
            await limit.CancelAsync(); // stops the watch
            await watch;
            await resources.ReleaseAsync(context.Job.Id, JobParts.BuildCgroup, CancellationToken.None);
            File.Delete(context.Paths.EngineBuildContext);
            if (!built)
            {
                await RemoveLayersAsync(tracker.Layers, cacheKey, started);
            }
        }

        if (tracker.Error is { } error)
        {
            return StageOutcome.Failed(FailureReasons.BuildFailed, $"build failed{tracker.AtStep}: {Ellipsis.Truncate(error.Trim(), 500)}");
        }
        var added = await disk.MeasureAsync(context.Job.Id, cacheLabel, started, cancellationToken);
        if (added > Units.Mebibytes(options.MaxImageMb))
        {
            await resources.ReleaseAsync(context.Job.Id, JobParts.Image, CancellationToken.None);
            return StageOutcome.Failed(FailureReasons.BuildLimitExceeded, DiskProblem(added));
        }
        var image = await engine.InspectImageAsync(names.ImageTag(context.Job.Id), cancellationToken)
            ?? throw new EngineException($"the engine reported the build done but has no image {names.ImageTag(context.Job.Id)}");
        context.Job = context.Job with { ImageId = image.Id };
        return StageOutcome.Completed;
    }

    /// <summary>
    /// A build that failed, was canceled or stopped leaves untagged layers: the newest go at once (each takes its
    /// untagged parents with it). Only layers carrying this owner's cache label and no tag are touched, whatever
    /// ids the build's output named; one still in use (a child, a container) stays for the janitor. A canceled
    /// build may commit one more layer after Berth stopped reading its output: when no other job runs here, the
    /// owner's dangling layers made since the build started go too (with other jobs running, one of them could be
    /// the same owner's build between two steps, so that is left to the janitor).
    /// </summary>
    private async Task RemoveLayersAsync(IReadOnlyList<string> layers, string cacheKey, DateTimeOffset since)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);
        try
        {
            foreach (var id in layers.Reverse().Distinct())
            {
                var image = await engine.InspectImageAsync(id, timeout.Token);
                if (image is { Tags.Count: 0 } && image.Labels.TryGetValue(EngineNames.CacheLabel, out var key) && key == cacheKey)
                {
                    await engine.RemoveImageAsync(image.Id, prune: active.Count <= 1, timeout.Token);
                }
            }
            if (active.Count <= 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, timeout.Token); // let an in-flight commit land
                foreach (var image in await engine.ListImagesAsync(EngineNames.CacheFilter(cacheKey), danglingOnly: true, timeout.Token))
                {
                    if (image.Created >= since)
                    {
                        await engine.RemoveImageAsync(image.Id, prune: true, timeout.Token);
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or EngineException)
        {
            // the engine is going away: the janitor removes what is left
        }
    }

    /// <summary>Each external base must be on the engine and its ONBUILD triggers must pass lint. Returns the FROM lines whose base has a health check.</summary>
    /// <summary>
    /// Tags the image of an identical earlier submission for this job (<see cref="ImageReuse"/>). False when there is
    /// none, or it went away before it could be tagged: the job builds.
    /// </summary>
    private async Task<bool> ReuseAsync(JobContext context, string contentKey, string cacheKey, CappedLogWriter log, CancellationToken cancellationToken)
    {
        if (await reuse.FindAsync(contentKey, cacheKey, context.Job.Owner, cancellationToken) is not { } image)
        {
            return false;
        }
        try
        {
            await engine.TagImageAsync(image.Id, names.ImageTag(context.Job.Id), cancellationToken);
        }
        catch (EngineException)
        {
            return false; // removed between the lookup and the tag
        }
        log.Write($"[berth] reused image {image.Id}: an identical submission built it (same Dockerfile, context, base images and owner); submit with \"cache\": false to build again\n");
        context.Job = context.Job with { ImageId = image.Id, CacheHit = true };
        return true;
    }

    /// <summary>
    /// Each base must be on the engine and its ONBUILD triggers must pass lint. Returns the FROM lines whose base has a
    /// health check, and each base with its image id (null when a base is absent but may be pulled: nothing to reuse then).
    /// </summary>
    private async Task<(HashSet<int> HealthChecked, List<(string Reference, string ImageId)>? Bases, StageOutcome? Refused)> CheckBaseImagesAsync(
        DockerfileDocument document, CappedLogWriter log, CancellationToken cancellationToken)
    {
        var healthChecked = new HashSet<int>();
        List<(string, string)>? bases = [];
        foreach (var image in BaseImages.Of(document))
        {
            var inspect = await engine.InspectImageAsync(image.Reference, cancellationToken);
            if (inspect is null)
            {
                if (buildOptions.Value.Pull)
                {
                    bases = null;
                    continue;
                }
                log.Write($"base image '{image.Reference}' (line {image.Line}) is not on this engine; pulling is disabled\n");
                return (healthChecked, null, StageOutcome.Failed(FailureReasons.BaseImageMissing,
                    $"base image '{image.Reference}' (FROM on line {image.Line}) is not on this engine and pulling is disabled (Build:Pull=false); use an image the operator has loaded"));
            }
            var triggers = image.RunsTriggers ? inspect.OnBuild : [];
            var refused = DockerfileLinter.LintTriggers(image.Reference, triggers.ToList(), allowed);
            if (refused.Count > 0)
            {
                log.Write($"line {image.Line}: {refused[0].Message}\n");
                return (healthChecked, null, StageOutcome.Failed(FailureReasons.LintRejected, $"line {image.Line}: {refused[0].Message}"));
            }
            if (inspect.Volumes is { Count: > 0 } volumes)
            {
                // RUN steps would write to an anonymous host volume: outside the layers Berth measures and caps.
                var shown = string.Join(", ", volumes.Take(3));
                log.Write($"line {image.Line}: base image '{image.Reference}' declares VOLUME {shown}\n");
                return (healthChecked, null, StageOutcome.Failed(FailureReasons.LintRejected,
                    $"line {image.Line}: base image '{image.Reference}' declares VOLUME {shown}; build steps would write to a host volume outside the build's disk limit, so Berth refuses bases with volumes (ask the operator for one without)"));
            }
            if (inspect.Healthcheck.Count > 0)
            {
                healthChecked.Add(image.Line);
            }
            bases?.Add((image.Reference, inspect.Id));
        }
        return (healthChecked, bases, null);
    }

    /// <summary>The Dockerfile the engine builds: the job's, with Berth's lines after each FROM instruction.</summary>
    internal string EngineDockerfile(string text, DockerfileDocument document, string cacheKey, IReadOnlySet<int> healthChecked)
    {
        var lines = text.Split('\n').ToList();
        foreach (var from in document.Instructions.Where(i => i.Keyword == "FROM").OrderByDescending(i => i.EndLine))
        {
            var injected = $"LABEL {EngineNames.InstanceLabel}={identity.Id} {EngineNames.CacheFilter(cacheKey)}";
            if (healthChecked.Contains(from.Line))
            {
                injected += "\nHEALTHCHECK NONE";
            }
            lines.Insert(Math.Min(from.EndLine, lines.Count), injected);
        }
        return string.Join('\n', lines);
    }

    /// <summary>Measures the build's disk use every second; over the cap it stops the build.</summary>
    private async Task WatchDiskAsync(string jobId, string cacheLabel, DateTimeOffset since, BuildProgress tracker, CancellationTokenSource limit, CancellationToken cancellationToken)
    {
        var cap = Units.Mebibytes(buildOptions.Value.MaxImageMb);
        try
        {
            var start = await disk.MarkAsync(cancellationToken);
            while (true)
            {
                await Task.Delay(WatchInterval, time, cancellationToken);
                var added = await disk.MeasureAsync(jobId, cacheLabel, since, cancellationToken);
                // The backstop sees the whole filesystem: every job running here may write up to the cap beside this build.
                var problem = added > cap ? DiskProblem(added) : start is null ? null : BuildDiskWatch.Backstop(start, cap * Math.Max(1, active.Count));
                if (problem is not null)
                {
                    tracker.LimitProblem = problem;
                    await limit.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is IOException or EngineException)
        {
            // the engine is going away; the build itself reports that
        }
    }

    private string DiskProblem(long added) => string.Create(CultureInfo.InvariantCulture,
        $"the build wrote {Units.ToMebibytes(added)} MiB, more than its {buildOptions.Value.MaxImageMb} MiB limit (Build:MaxImageMb)");

    /// <summary>Writes the build's progress to its log, remembers the step and the first error, and caps the output.</summary>
    private sealed class BuildProgress(CappedLogWriter log, long maxOutput)
    {
        private string? _step;
        private long _output;

        public string? Error { get; private set; }

        public string AtStep => _step is null ? "" : $" at '{_step}'";

        public Action? OverLimit { get; set; }

        public string? LimitProblem { get; set; }

        /// <summary>Ids of the layers the build's output named (<c> ---&gt; 1a2b…</c>), oldest first. Output can forge these.</summary>
        public List<string> Layers { get; } = [];

        public void Report(BuildMessage value)
        {
            if (!string.IsNullOrEmpty(value.Stream))
            {
                Count(value.Stream.Length);
                log.Write(value.Stream);
                foreach (var line in value.Stream.Split('\n'))
                {
                    if (line.StartsWith("Step ", StringComparison.Ordinal))
                    {
                        _step = line.Trim();
                    }
                    else if (line.StartsWith(" ---> ", StringComparison.Ordinal) && line.Trim()[5..].Trim() is { Length: >= 12 and <= 64 } id
                             && id.All(char.IsAsciiHexDigitLower) && Layers.Count < 10_000)
                    {
                        Layers.Add(id);
                    }
                }
            }
            else if (!string.IsNullOrEmpty(value.Status))
            {
                Count(value.Status.Length);
                log.Write(value.Status + "\n");
            }
            if (!string.IsNullOrEmpty(value.Error))
            {
                Error ??= value.Error;
                log.Write("ERROR: " + value.Error + "\n");
            }
        }

        private void Count(int length)
        {
            _output += length;
            if (_output > maxOutput && LimitProblem is null)
            {
                LimitProblem = string.Create(CultureInfo.InvariantCulture,
                    $"the build printed more than {Units.ToMebibytes(maxOutput)} MiB of output (Build:MaxOutputMb)");
                OverLimit?.Invoke();
            }
        }
    }
}
