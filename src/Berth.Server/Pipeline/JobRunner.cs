using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline;

/// <summary>
/// The workers: each claims the oldest queued job, runs it through <see cref="JobPipeline"/>, saves every transition,
/// and always releases what the job held (<see cref="JobResources"/>). At start-up it first recovers what a previous
/// process left.
/// </summary>
public sealed class JobRunner(
    IJobLedger store,
    JobPipeline pipeline,
    JobResources resources,
    Janitor janitor,
    ActiveJobs active,
    QueueSignal signal,
    IOptions<BerthOptions> options,
    IOptions<BuildOptions> buildOptions,
    IOptions<SandboxOptions> sandbox,
    EngineNames names,
    TimeProvider time,
    IJobOutcomes outcomes,
    ILogger<JobRunner> logger) : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(60);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Workers == 0)
        {
            Log.ApiOnly(logger, options.Value.DataRoot);
            return;
        }
        await RecoverAsync(stoppingToken);
        Log.Ready(logger, options.Value.Workers, sandbox.Value.Runtime, names.Instance, options.Value.DataRoot);
        var workers = Enumerable.Range(0, options.Value.Workers).Select(_ => Task.Run(() => WorkAsync(stoppingToken), stoppingToken));
        await Task.WhenAll(workers);
    }

    /// <summary>
    /// Jobs left in an active state by a previous process: what they held goes; each job is re-queued once, and failed
    /// as <c>interrupted</c> the second time. Then the janitor sweeps what is left.
    /// </summary>
    internal async Task RecoverAsync(CancellationToken cancellationToken)
    {
        foreach (var job in await store.ListActiveAsync(cancellationToken))
        {
            using var scope = BeginScope(job);
            var interrupted = job.Attempts >= 2;
            await resources.ReleaseAsync(job.Id, interrupted ? JobParts.Run | JobParts.Context : JobParts.Run, cancellationToken);
            if (interrupted)
            {
                Log.JobInterrupted(logger, job.Id);
                // The stage it was in fails and the later ones are skipped, as when a stage fails.
                var stage = pipeline.Stages.FirstOrDefault(s => job.Stages.Any(state => state.Name == s.Name && state.Status == StageStatus.Running));
                var failed = Fail(job, stage, new JobFailure(FailureReasons.Interrupted,
                    $"the server stopped while this job was {job.Status.ToWire()}, twice; it was not retried again"));
                await store.SaveAsync(failed, cancellationToken);
                outcomes.Finished(failed);
            }
            else
            {
                Log.JobRequeued(logger, job.Id, job.Status.ToWire());
                await store.SaveAsync(job.QueuedAgain(), cancellationToken);
            }
        }

        await janitor.SweepAsync(cancellationToken);
        try
        {
            await resources.WarmUpAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.DataPoolFillFailed(logger, e); // each job makes its own /data meanwhile
        }
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

    /// <summary>
    /// Runs a claimed job through every stage and saves each transition. Its container, context and (with no image
    /// retention) image are gone before the final state is saved; its /data and build cgroup go right after, off the
    /// path of the client waiting for the result.
    /// </summary>
    internal async Task RunAsync(Job claimed, CancellationToken stoppingToken)
    {
        using var scope = BeginScope(claimed);
        using var userCancel = active.Register(claimed.Id);
        using var jobToken = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, userCancel.Token);
        var context = new JobContext(claimed with { Stages = pipeline.InitialStages(), Failure = null, Performance = null, ExitCode = null, Scan = null, CacheHit = false },
            resources.PathsOf(claimed.Id));
        Log.JobStarted(logger, claimed.Id, claimed.Attempts);
        IJobStage? current = null;
        try
        {
            context.Job = await RunStagesAsync(context, s => current = s, jobToken.Token);
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
            context.Job = context.Job.QueuedAgain() with { Attempts = Math.Max(0, context.Job.Attempts - 1) };
            Log.JobRequeued(logger, claimed.Id, was.ToWire());
        }
        catch (EngineException e)
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

        try
        {
            using var timeout = new CancellationTokenSource(CleanupTimeout, time);
            // Nothing serves the context of an ended job (a re-queued one keeps it for its next attempt).
            var before = JobParts.Container
                | (context.Job.Status.IsTerminal() ? JobParts.Context : JobParts.None)
                | (buildOptions.Value.ImageRetentionSeconds == 0 ? JobParts.Image : JobParts.None);
            await resources.ReleaseAsync(claimed.Id, before, timeout.Token);
            await store.SaveAsync(context.Job, CancellationToken.None);
            if (context.Job.Status.IsTerminal())
            {
                outcomes.Finished(context.Job);
            }
            await resources.ReleaseAsync(claimed.Id, JobParts.Container | JobParts.Data | JobParts.BuildCgroup, timeout.Token);
        }
        finally
        {
            active.Unregister(claimed.Id);
        }
    }

    private async Task<Job> RunStagesAsync(JobContext context, Action<IJobStage> entering, CancellationToken cancellationToken)
    {
        foreach (var stage in pipeline.Stages)
        {
            entering(stage);
            Log.StageStarted(logger, context.Job.Id, stage.Name);
            context.Job = context.Job.WithStage(stage.Name, StageStatus.Running, time.GetUtcNow()) with { Status = stage.Status };
            await store.SaveAsync(context.Job, CancellationToken.None);
            switch (await stage.ExecuteAsync(context, cancellationToken))
            {
                case StageOutcome.FailedOutcome failed:
                    Log.JobFailed(logger, context.Job.Id, failed.Failure.Reason, failed.Failure.Message);
                    return Fail(context.Job, stage, failed.Failure);
                case StageOutcome.SkippedOutcome:
                    context.Job = context.Job.WithStage(stage.Name, StageStatus.Skipped, time.GetUtcNow());
                    break;
                default:
                    context.Job = context.Job.WithStage(stage.Name, StageStatus.Succeeded, time.GetUtcNow());
                    break;
            }
        }
        Log.JobSucceeded(logger, context.Job.Id, context.Job.Performance);
        return Finish(context.Job with { Status = JobStatus.Succeeded });
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

    private Job Finish(Job job) => job with { FinishedAt = time.GetUtcNow() };

    private IDisposable? BeginScope(Job job) =>
        logger.BeginScope(new Dictionary<string, object?> { ["JobId"] = job.Id, ["CorrelationId"] = job.CorrelationId });
}
