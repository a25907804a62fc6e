using System.Globalization;
using Berth.Server.Configuration;
using Berth.Server.Dockerfiles;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline.Stages;

/// <summary>
/// Builds the image on the engine. Every FROM image is checked first: an absent one fails the job
/// (<c>base_image_missing</c>) without any registry traffic unless <c>Build:Pull</c> allows it.
/// </summary>
public sealed class BuildStage(DockerEngine engine, EngineBuildClient builder, BuildCgroups cgroups, HardeningProfile profile,
    IOptions<BuildOptions> buildOptions, IOptions<BerthOptions> berthOptions, TimeProvider time) : IJobStage
{
    public string Name => "build";

    public JobStatus Status => JobStatus.Building;

    public async Task ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var options = buildOptions.Value;
        var document = context.Document ?? throw new InvalidOperationException("the lint stage did not run");
        using var log = new CappedLogWriter(context.Paths.BuildLog, berthOptions.Value.LogCapKb * 1024L);

        foreach (var image in BaseImages.Of(document))
        {
            if (image.Unresolved)
            {
                log.Write($"FROM on line {image.Line}: '{image.Reference}' uses a build argument with no default value\n");
                throw new JobFailedException(FailureReasons.BaseImageMissing,
                    $"FROM on line {image.Line} ('{image.Reference}') uses a build argument with no default value, so the base image is unknown");
            }
            if (!options.Pull && !await engine.ImageExistsAsync(image.Reference, cancellationToken))
            {
                log.Write($"base image '{image.Reference}' (line {image.Line}) is not on this engine; pulling is disabled\n");
                throw new JobFailedException(FailureReasons.BaseImageMissing,
                    $"base image '{image.Reference}' (FROM on line {image.Line}) is not on this engine and pulling is disabled (Build:Pull=false); use an image the operator has loaded");
            }
        }

        var tracker = new BuildProgress(log);
        var (cgroupParent, problem) = cgroups.Create(context.Job.Id);
        if (problem is not null)
        {
            log.Write($"[berth] {problem}\n");
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.TimeoutSeconds), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        await using (var tar = new FileStream(context.Paths.BuildContext, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true))
        {
            try
            {
                await builder.BuildAsync(tar, profile.ForBuild(context.Job.Id, cgroupParent), tracker.Report, linked.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                log.Write($"\n[berth] build stopped: it ran longer than {options.TimeoutSeconds} s\n");
                throw new JobFailedException(FailureReasons.Timeout,
                    string.Create(CultureInfo.InvariantCulture, $"the build ran longer than its {options.TimeoutSeconds} s limit (Build:TimeoutSeconds) and was stopped{tracker.AtStep}"));
            }
            catch (EngineBuildException e)
            {
                log.Write($"\n[berth] the engine refused the build: {e.Message}\n");
                throw new JobFailedException(FailureReasons.BuildFailed, $"the engine refused the build: {Trim(e.Message)}");
            }
            finally
            {
                cgroups.Remove(context.Job.Id);
            }
        }

        if (tracker.Error is { } error)
        {
            throw new JobFailedException(FailureReasons.BuildFailed, $"build failed{tracker.AtStep}: {Trim(error)}");
        }
        var imageId = await engine.ImageIdAsync(profile.ImageTag(context.Job.Id), cancellationToken);
        context.Job = context.Job with { ImageId = imageId };
    }

    private static string Trim(string? text)
    {
        var value = (text ?? "").Trim();
        return value.Length <= 500 ? value : value[..500] + "…";
    }

    /// <summary>Writes the build's progress to its log and remembers the step and the first error.</summary>
    private sealed class BuildProgress(CappedLogWriter log)
    {
        private string? _step;

        public string? Error { get; private set; }

        public string AtStep => _step is null ? "" : $" at '{_step}'";

        public void Report(BuildMessage value)
        {
            if (!string.IsNullOrEmpty(value.Stream))
            {
                Write(value.Stream);
                foreach (var line in value.Stream.Split('\n'))
                {
                    if (line.StartsWith("Step ", StringComparison.Ordinal))
                    {
                        _step = line.Trim();
                    }
                }
            }
            else if (!string.IsNullOrEmpty(value.Status))
            {
                Write(value.Status + "\n");
            }
            if (!string.IsNullOrEmpty(value.Error))
            {
                Error ??= value.Error;
                Write("ERROR: " + value.Error + "\n");
            }
        }

        private void Write(string text) => log.Write(text);
    }
}
