using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline;

/// <summary>
/// The workers: each claims the oldest queued job, runs it through <see cref="JobPipeline"/>, saves
/// every transition, and always cleans up. At start-up it first recovers what a previous process left.
/// </summary>
public sealed class JobRunner(
    IJobStore store,
    JobPipeline pipeline,
    DockerEngine engine,
    HardeningProfile profile,
    DataVolumes volumes,
    Janitor janitor,
    ActiveJobs active,
    QueueSignal signal,
    IOptions<BerthOptions> options,
    IOptions<BuildOptions> buildOptions,
    TimeProvider time,
    ILogger<JobRunner> logger) : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await RecoverAsync(stoppingToken);
        Log.Ready(logger, options.Value.Workers, profile.Runtime, profile.Instance, options.Value.DataRoot);
        var workers = Enumerable.Range(0, options.Value.Workers).Select(_ => Task.Run(() => WorkAsync(stoppingToken), stoppingToken));
        await Task.WhenAll(workers);
    }

    /// <summary>
    /// Jobs left in an active state by a previous process: their containers go; each job is re-queued
    /// once, and failed as <c>interrupted</c> the second time. Then the janitor sweeps what is left.
    /// </summary>
    internal async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var leftovers = await store.ListActiveAsync(cancellationToken);
        foreach (var job in leftovers)
        {
            using var scope = BeginScope(job);
            try
            {
                await engine.RemoveJobContainersAsync(job.Id, cancellationToken);
                await volumes.ReleaseAsync(JobPaths.For(options.Value.JobsRoot, job.Id), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.CleanupFailed(logger, job.Id, e);
            }
            if (job.Attempts >= 2)
            {
                Log.JobInterrupted(logger, job.Id);
                await DeleteContext(JobPaths.For(options.Value.JobsRoot, job.Id));
                await store.SaveAsync(Finish(job with
                {
                    Status = JobStatus.Failed,
                    Failure = new JobFailure(FailureReasons.Interrupted,
                        $"the server stopped while this job was {job.Status.ToWire()}, twice; it was not retried again"),
                }), cancellationToken);
            }
            else
            {
                Log.JobRequeued(logger, job.Id, job.Status.ToWire());
                await store.SaveAsync(Requeued(job), cancellationToken);
            }
        }

        await janitor.SweepAsync(cancellationToken);
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var job = await store.ClaimNextAsync(pipeline.Stages[0].Status, time.GetUtcNow(), stoppingToken);
                if (job is null)
                {
                    await signal.WaitAsync(IdlePoll, stoppingToken);
                    continue;
                }
                await RunAsync(job, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.WorkerError(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    internal async Task RunAsync(Job claimed, CancellationToken stoppingToken)
    {
        using var scope = BeginScope(claimed);
        using var userCancel = active.Register(claimed.Id);
        using var jobToken = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, userCancel.Token);
        var paths = JobPaths.For(options.Value.JobsRoot, claimed.Id);
        var context = new JobContext(claimed with { Stages = pipeline.InitialStages(), Failure = null, Performance = null, ExitCode = null, Scan = null }, paths);
        Log.JobStarted(logger, claimed.Id, claimed.Attempts);
        IJobStage? current = null;
        try
        {
            foreach (var stage in pipeline.Stages)
            {
                current = stage;
                Log.StageStarted(logger, claimed.Id, stage.Name);
                context.Job = context.Job.WithStage(stage.Name, StageStatus.Running, time.GetUtcNow()) with { Status = stage.Status };
                await store.SaveAsync(context.Job, CancellationToken.None);
                context.StageSkipped = false;
                await stage.ExecuteAsync(context, jobToken.Token);
                context.Job = context.Job.WithStage(stage.Name, context.StageSkipped ? StageStatus.Skipped : StageStatus.Succeeded, time.GetUtcNow());
            }
            context.Job = Finish(context.Job with { Status = JobStatus.Succeeded });
            Log.JobSucceeded(logger, claimed.Id, context.Job.Performance);
        }
        catch (JobFailedException e)
        {
            context.Job = Fail(context.Job, current, e.ToFailure());
            Log.JobFailed(logger, claimed.Id, e.Reason, e.Message);
        }
        catch (OperationCanceledException) when (userCancel.IsCancellationRequested)
        {
            context.Job = Finish(MarkRest(context.Job, current, StageStatus.Canceled) with { Status = JobStatus.Canceled });
            Log.JobCanceled(logger, claimed.Id);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The server is stopping: the job is not lost, it runs again on the next start.
            var was = context.Job.Status; // the state it was in when the server stopped, not the one it was claimed in
            context.Job = Requeued(context.Job) with { Attempts = Math.Max(0, context.Job.Attempts - 1) };
            Log.JobRequeued(logger, claimed.Id, was.ToWire());
        }
        catch (Exception e) when (IsEngineFailure(e))
        {
            Log.JobFailed(logger, claimed.Id, FailureReasons.EngineError, e.Message);
            context.Job = Fail(context.Job, current, new JobFailure(FailureReasons.EngineError,
                $"the Docker engine failed during the {current?.Name ?? "setup"} stage (it may have restarted); the job did not finish, submit it again. The server log has the details (job {claimed.Id})"));
        }
        catch (Exception e)
        {
            Log.JobCrashed(logger, claimed.Id, e);
            context.Job = Fail(context.Job, current, new JobFailure(FailureReasons.InternalError,
                $"Berth hit an internal error during the {current?.Name ?? "setup"} stage; the server log has the details under job {claimed.Id}"));
        }
        finally
        {
            await CleanUpAsync(context);
            active.Unregister(claimed.Id);
        }
        await store.SaveAsync(context.Job, CancellationToken.None);
    }

    /// <summary>
    /// Removes the job's container, then its /data volume, then (with Build:ImageRetentionSeconds=0) its image tag.
    /// Each step runs even when an earlier one failed (the engine may be down); the janitor retries later.
    /// </summary>
    private async Task CleanUpAsync(JobContext context)
    {
        var jobId = context.Job.Id;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await TryAsync(async () =>
        {
            if (context.ContainerId is { } containerId)
            {
                await engine.RemoveContainerAsync(containerId, timeout.Token);
            }
            else if (context.Job.Stages.Any(s => s.Name == "run" && s.Status != StageStatus.Pending && s.Status != StageStatus.Skipped))
            {
                await engine.RemoveJobContainersAsync(jobId, timeout.Token); // the run stage stopped before it knew the id
            }
        });
        await TryAsync(() => volumes.ReleaseAsync(context.Paths, timeout.Token)); // lazily detached if still busy
        if (context.Job.Status.IsTerminal())
        {
            await TryAsync(() => DeleteContext(context.Paths));
        }
        if (buildOptions.Value.ImageRetentionSeconds == 0)
        {
            await TryAsync(() => engine.RemoveImageAsync(profile.ImageTag(jobId), timeout.Token, prune: active.Count <= 1)); // this job is still counted
        }

        async Task TryAsync(Func<Task> step)
        {
            try
            {
                await step();
            }
            catch (Exception e)
            {
                Log.CleanupFailed(logger, jobId, e);
            }
        }
    }

    /// <summary>Nothing serves the build context once the job has ended: it goes (a requeued job keeps it for its next attempt).</summary>
    private static Task DeleteContext(JobPaths paths)
    {
        File.Delete(paths.BuildContext);
        File.Delete(paths.EngineBuildContext); // only left by a process that died mid-build
        return Task.CompletedTask;
    }

    private Job Fail(Job job, IJobStage? stage, JobFailure failure) =>
        Finish(MarkRest(job, stage, StageStatus.Failed) with { Status = JobStatus.Failed, Failure = failure });

    /// <summary>The current stage gets <paramref name="status"/>; the stages after it are skipped.</summary>
    private Job MarkRest(Job job, IJobStage? stage, StageStatus status)
    {
        var now = time.GetUtcNow();
        if (stage is not null)
        {
            job = job.WithStage(stage.Name, status, now);
        }
        return job with
        {
            Stages = job.Stages.Select(s => s.Status == StageStatus.Pending ? s with { Status = StageStatus.Skipped } : s).ToList(),
        };
    }

    /// <summary>The engine went away or answered with an error (e.g. dockerd restarted under the job).</summary>
    private static bool IsEngineFailure(Exception e) =>
        e is global::Docker.DotNet.DockerApiException or HttpRequestException or System.Net.Sockets.SocketException
        || (e is IOException && e.GetType().Namespace?.StartsWith("System.Net", StringComparison.Ordinal) == true)
        || (e.InnerException is { } inner && IsEngineFailure(inner));

    private Job Finish(Job job) => job with { FinishedAt = time.GetUtcNow() };

    private Job Requeued(Job job) => job with
    {
        Status = JobStatus.Queued,
        StartedAt = null,
        FinishedAt = null,
        Failure = null,
        Performance = null,
        ExitCode = null,
        ImageId = null,
        Scan = null,
        Stages = pipeline.InitialStages(),
    };

    private IDisposable? BeginScope(Job job) =>
        logger.BeginScope(new Dictionary<string, object?> { ["JobId"] = job.Id, ["CorrelationId"] = job.CorrelationId });
}
