using System.Globalization;
using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline.Stages;

/// <summary>
/// Runs the built image in the sandbox <see cref="HardeningProfile"/> describes, with the job's own
/// data directory at /data, under a wall-clock timeout. Captures stdout+stderr (capped).
/// </summary>
public sealed class RunStage(IContainerEngine engine, HardeningProfile profile, JobResources resources,
    IOptions<LimitsOptions> limits, IOptions<BerthOptions> berthOptions, TimeProvider time) : IJobStage
{
    /// <summary>How long the log copy may go on after the container exited (the engine may keep the stream open).</summary>
    private static readonly TimeSpan LogDrain = TimeSpan.FromSeconds(5);

    public string Name => "run";

    public JobStatus Status => JobStatus.Running;

    public async Task<StageOutcome> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var job = context.Job;
        var image = job.ImageId ?? throw new InvalidOperationException("the build stage did not run");
        var uid = profile.RunUid(job.Sequence);
        await resources.PrepareDataAsync(job.Id, job.Limits.DataMb, uid, cancellationToken);

        var imageVolumes = (await engine.InspectImageAsync(image, cancellationToken))?.Volumes ?? [];
        var containerId = await resources.CreateContainerAsync(job.Id, profile.ForRun(job.Id, uid, image, job.Limits, context.Paths.Data, imageVolumes), cancellationToken);
        using var log = new CappedLogWriter(context.Paths.RunLog, berthOptions.Value.LogCapKb * 1024L);
        using var logStop = new CancellationTokenSource();
        await engine.StartContainerAsync(containerId, cancellationToken);
        var logs = engine.FollowLogsAsync(containerId, chunk => log.Write(chunk.Span), logStop.Token);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(job.Limits.TimeoutSeconds), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await engine.WaitContainerAsync(containerId, linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            await engine.KillContainerAsync(containerId, CancellationToken.None);
            await FinishLogsAsync(logs, logStop);
            return StageOutcome.Failed(FailureReasons.Timeout,
                string.Create(CultureInfo.InvariantCulture, $"the job ran longer than its {job.Limits.TimeoutSeconds} s limit and was killed"));
        }
        catch (OperationCanceledException)
        {
            // Canceled by the user or the server is stopping: SIGTERM, then SIGKILL after the grace period. An engine
            // failing now does not turn the cancel into an engine error: the job's clean-up removes the container.
            try
            {
                await engine.StopContainerAsync(containerId, limits.Value.KillGraceSeconds, CancellationToken.None);
            }
            catch (EngineException)
            {
            }
            await FinishLogsAsync(logs, logStop);
            throw;
        }
        await FinishLogsAsync(logs, logStop);

        var state = await engine.InspectContainerAsync(containerId, CancellationToken.None)
            ?? throw new EngineException($"container {containerId} vanished from the engine as it exited");
        context.Job = context.Job with { ExitCode = state.ExitCode };
        if (state.OomKilled)
        {
            return StageOutcome.Failed(FailureReasons.OutOfMemory,
                string.Create(CultureInfo.InvariantCulture, $"the job exceeded its memory limit of {job.Limits.MemoryMb} MiB and a process was killed (exit code {state.ExitCode})"));
        }
        if (state.ExitCode != 0 && DataVolumes.Exhausted(context.Paths, job.Limits.DataMb) is { } what)
        {
            return StageOutcome.Failed(FailureReasons.DataQuotaExceeded, $"the job filled /data ({what}) and {ExitMessage(state.ExitCode)[8..]}");
        }
        return state.ExitCode != 0 ? StageOutcome.Failed(FailureReasons.NonzeroExit, ExitMessage(state.ExitCode)) : StageOutcome.Completed;
    }

    private static string ExitMessage(long code) => code switch
    {
        137 => "the job exited with code 137 (killed by SIGKILL)",
        139 => "the job exited with code 139 (segmentation fault)",
        143 => "the job exited with code 143 (terminated by SIGTERM)",
        _ => string.Create(CultureInfo.InvariantCulture, $"the job exited with code {code}"),
    };

    private async Task FinishLogsAsync(Task logs, CancellationTokenSource stop)
    {
        // The log stream ends when the container exits; do not wait forever if the engine keeps it open.
        try
        {
            await logs.WaitAsync(LogDrain, time);
        }
        catch (TimeoutException)
        {
            await stop.CancelAsync();
        }
        try
        {
            await logs;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or EngineException)
        {
            // a cut-short log is still a log
        }
    }
}
