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
public sealed class RunStage(DockerEngine engine, HardeningProfile profile, DataVolumes volumes, RunscContainers containers,
    IOptions<LimitsOptions> limits, IOptions<BerthOptions> berthOptions, TimeProvider time) : IJobStage
{
    public string Name => "run";

    public JobStatus Status => JobStatus.Running;

    public async Task ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var job = context.Job;
        var image = job.ImageId ?? throw new InvalidOperationException("the build stage did not run");
        var uid = profile.RunUid(job.Sequence);
        await volumes.PrepareAsync(context.Paths, job.Limits.DataMb, uid, cancellationToken);

        if (job.Attempts > 1)
        {
            await engine.RemoveJobContainersAsync(job.Id, cancellationToken); // a previous attempt's, if any
        }
        var imageVolumes = (await engine.InspectImageAsync(image, cancellationToken))?.Config?.Volumes?.Keys ?? [];
        var containerId = await engine.CreateContainerAsync(profile.ForRun(job.Id, uid, image, job.Limits, context.Paths.Data, imageVolumes), cancellationToken);
        context.ContainerId = containerId;
        containers.Record(containerId); // before any gVisor process of it exists: the janitor only kills recorded ones
        using var log = new CappedLogWriter(context.Paths.RunLog, berthOptions.Value.LogCapKb * 1024L);
        using var logStop = new CancellationTokenSource();
        await engine.StartContainerAsync(containerId, cancellationToken);
        var logs = CopyLogsAsync(containerId, log, logStop.Token);

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
            throw new JobFailedException(FailureReasons.Timeout,
                string.Create(CultureInfo.InvariantCulture, $"the job ran longer than its {job.Limits.TimeoutSeconds} s limit and was killed"));
        }
        catch (OperationCanceledException)
        {
            // Canceled by the user or the server is stopping: SIGTERM, then SIGKILL after the grace period.
            await engine.StopContainerAsync(containerId, limits.Value.KillGraceSeconds, CancellationToken.None);
            await FinishLogsAsync(logs, logStop);
            throw;
        }
        await FinishLogsAsync(logs, logStop);

        var state = (await engine.InspectContainerAsync(containerId, CancellationToken.None)).State
            ?? throw new InvalidOperationException($"the engine reported no state for container {containerId}");
        context.Job = context.Job with { ExitCode = state.ExitCode };
        if (state.OOMKilled)
        {
            throw new JobFailedException(FailureReasons.OutOfMemory,
                string.Create(CultureInfo.InvariantCulture, $"the job exceeded its memory limit of {job.Limits.MemoryMb} MiB and a process was killed (exit code {state.ExitCode})"));
        }
        if (state.ExitCode != 0 && DataVolumes.Exhausted(context.Paths, job.Limits.DataMb) is { } what)
        {
            throw new JobFailedException(FailureReasons.DataQuotaExceeded, $"the job filled /data ({what}) and {ExitMessage(state.ExitCode)[8..]}");
        }
        if (state.ExitCode != 0)
        {
            throw new JobFailedException(FailureReasons.NonzeroExit, ExitMessage(state.ExitCode));
        }
    }

    private static string ExitMessage(long code) => code switch
    {
        137 => "the job exited with code 137 (killed by SIGKILL)",
        139 => "the job exited with code 139 (segmentation fault)",
        143 => "the job exited with code 143 (terminated by SIGTERM)",
        _ => string.Create(CultureInfo.InvariantCulture, $"the job exited with code {code}"),
    };

    private async Task CopyLogsAsync(string containerId, CappedLogWriter log, CancellationToken cancellationToken)
    {
        using var stream = await engine.FollowLogsAsync(containerId, cancellationToken);
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var result = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            if (result.EOF)
            {
                return;
            }
            log.Write(buffer.AsSpan(0, result.Count));
        }
    }

    private static async Task FinishLogsAsync(Task logs, CancellationTokenSource stop)
    {
        // The log stream ends when the container exits; do not wait forever if the engine keeps it open.
        stop.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await logs;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or global::Docker.DotNet.DockerApiException)
        {
            // a cut-short log is still a log
        }
    }
}
