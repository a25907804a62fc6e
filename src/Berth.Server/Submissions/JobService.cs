using System.Globalization;
using Berth.Server.Auth;
using Berth.Server.Configuration;
using Berth.Server.Contexts;
using Berth.Server.Errors;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Pipeline;
using Berth.Server.Webhooks;
using Microsoft.Extensions.Options;
using Berth.Scanner;

namespace Berth.Server.Submissions;

/// <summary>What the API does to jobs: submit, cancel, delete. Reads go straight to <see cref="IJobStore"/>.</summary>
public sealed class JobService(
    IJobStore store,
    IJobFiles files,
    IJobExecution execution,
    ISubmitQuota quota,
    JobPipeline pipeline,
    IOptions<BerthOptions> berthOptions,
    IOptions<LimitsOptions> limitsOptions,
    TimeProvider time,
    IJobOutcomes outcomes,
    ILogger<JobService> logger,
    IOptions<WebhooksOptions>? webhooksOptions = null)
{
    private const int MaxNameLength = 200;

    /// <summary>Stores the job's files, then the queued job. Throws <see cref="RequestRejectedException"/> for bad input or a full queue.</summary>
    public async Task<Job> SubmitAsync(JobSubmission submission, Caller caller, string? correlationId, CancellationToken cancellationToken)
    {
        var berth = berthOptions.Value;
        var limits = ResolveLimits(submission.Limits, limitsOptions.Value);
        var name = CheckName(submission.Name);
        var callbackUrl = CallbackUrls.Check(submission.CallbackUrl, webhooksOptions?.Value ?? new WebhooksOptions());
        if (submission.Context is null || submission.Dockerfile is not null)
        {
            JobSubmission.CheckDockerfile(submission.Dockerfile); // early; a context's own Dockerfile is checked once unpacked
        }
        if (await store.CountQueuedAsync(cancellationToken) >= berth.QueueCap)
        {
            throw QueueFull(berth.QueueCap);
        }

        var now = time.GetUtcNow();
        var id = Guid.CreateVersion7(now).ToString("N");
        var incoming = Path.Combine(berth.DataRoot, "incoming");
        Directory.CreateDirectory(incoming);
        try
        {
            string dockerfile;
            // Packed into a private temporary file first: nothing of a refused context reaches the job's files.
            await using (var tar = new FileStream(Path.Combine(incoming, id + ".tar"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024,
                             FileOptions.Asynchronous | FileOptions.DeleteOnClose))
            {
                var limitsValue = limitsOptions.Value;
                dockerfile = await BuildContextPacker.PackAsync(submission.Dockerfile, submission.Context, tar,
                    Units.Mebibytes(limitsValue.MaxContextMb), limitsValue.MaxContextFiles, limitsValue.MaxCompressionRatio, cancellationToken);
                JobSubmission.CheckDockerfile(dockerfile);
                tar.Position = 0;
                await files.WriteAsync(id, JobFile.Context, tar, cancellationToken);
            }
            await using (var text = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(dockerfile)))
            {
                await files.WriteAsync(id, JobFile.Dockerfile, text, cancellationToken);
            }

            var job = new Job(id, 0, name, JobStatus.Queued, limits, correlationId, now, null, null, null, null,
                pipeline.InitialStages(), null, null, [], 0, Owner: caller.Owner, Cache: submission.Cache,
                Webhook: callbackUrl is null ? null : JobWebhook.New)
            {
                Callback = callbackUrl is null ? null : new JobCallback(callbackUrl.AbsoluteUri, Guid.CreateVersion7(now).ToString("N")),
            };
            var stored = await store.TryEnqueueAsync(job, berth.QueueCap, cancellationToken) ?? throw QueueFull(berth.QueueCap);
            Log.JobAccepted(logger, id, name);
            execution.Queued();
            return stored;
        }
        catch
        {
            await TryDeleteFilesAsync(id);
            throw;
        }
    }

    /// <summary>Counts the submission against the owner's rate limit; throws 429 when over it. Called before the body is read.</summary>
    public async Task CheckRateAsync(Caller caller, CancellationToken cancellationToken)
    {
        if (await quota.TryAcquireAsync(caller.Owner, cancellationToken) is { } wait)
        {
            throw new RequestRejectedException(Rejection.TooManyRequests,
                $"too many submissions for owner '{caller.Owner}'; retry in {Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))} s (Auth:SubmitsPerMinute)") { RetryAfter = wait };
        }
    }

    /// <summary>Cancels a job. Null when unknown; throws 409 when already finished.</summary>
    public async Task<Job?> CancelAsync(string id, Caller caller, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is not { } visible || !caller.CanSee(visible))
        {
            return null;
        }
        if (await store.CancelIfQueuedAsync(id, time.GetUtcNow(), cancellationToken))
        {
            Log.CancelRequested(logger, id);
            var canceled = await store.GetAsync(id, cancellationToken); // it never starts
            if (canceled is not null)
            {
                outcomes.Finished(canceled);
            }
            return canceled;
        }
        var job = await store.GetAsync(id, cancellationToken);
        if (job is null)
        {
            return null;
        }
        if (job.Status.IsTerminal())
        {
            throw new RequestRejectedException(Rejection.Conflict, $"job {id} already finished ({job.Status.ToWire()})");
        }
        Log.CancelRequested(logger, id);
        await execution.CancelActiveAsync(id, cancellationToken);
        return job;
    }

    /// <summary>Deletes a finished job and its files. Null when unknown; throws 409 while it is queued or active.</summary>
    public async Task<bool?> DeleteAsync(string id, Caller caller, CancellationToken cancellationToken)
    {
        var job = await store.GetAsync(id, cancellationToken);
        if (job is null || !caller.CanSee(job))
        {
            return null;
        }
        if (!await store.DeleteIfTerminalAsync(id, cancellationToken))
        {
            throw new RequestRejectedException(Rejection.Conflict, $"job {id} is {job.Status.ToWire()}; only finished jobs can be deleted (cancel it first)");
        }
        await execution.ReleaseDeletedAsync(job, cancellationToken); // what is left fails softly: the janitor retries
        return true;
    }

    internal static JobLimits ResolveLimits(LimitsRequest request, LimitsOptions limits)
    {
        var timeout = request.TimeoutSeconds ?? limits.DefaultTimeoutSeconds;
        var memory = request.MemoryMb ?? limits.DefaultMemoryMb;
        var cpus = request.Cpus ?? limits.DefaultCpus;
        var data = request.DataMb ?? limits.DataMb;
        if (timeout < 1)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, "limits.timeoutSeconds must be at least 1", "limits.timeoutSeconds");
        }
        if (timeout > limits.MaxTimeoutSeconds)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, $"limits.timeoutSeconds {timeout} exceeds the server maximum of {limits.MaxTimeoutSeconds}", "limits.timeoutSeconds");
        }
        if (memory < LimitsOptions.MinMemoryMb)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, $"limits.memoryMb must be at least {LimitsOptions.MinMemoryMb}", "limits.memoryMb");
        }
        if (memory > limits.MaxMemoryMb)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, $"limits.memoryMb {memory} exceeds the server maximum of {limits.MaxMemoryMb}", "limits.memoryMb");
        }
        if (!double.IsFinite(cpus) || cpus < 0.01)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, "limits.cpus must be at least 0.01", "limits.cpus");
        }
        if (cpus > limits.MaxCpus)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, string.Create(CultureInfo.InvariantCulture, $"limits.cpus {cpus} exceeds the server maximum of {limits.MaxCpus}"), "limits.cpus");
        }
        if (data < LimitsOptions.MinDataMb)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, $"limits.dataMb must be at least {LimitsOptions.MinDataMb}", "limits.dataMb");
        }
        if (data > limits.DataMb)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, $"limits.dataMb {data} exceeds the server maximum of {limits.DataMb}", "limits.dataMb");
        }
        return new JobLimits(timeout, memory, cpus, data);
    }

    private static string? CheckName(string? name)
    {
        if (name is null)
        {
            return null;
        }
        if (name.Length > MaxNameLength)
        {
            throw new RequestRejectedException(Rejection.Unprocessable, $"name is longer than {MaxNameLength} characters", "name");
        }
        if (name.Any(char.IsControl))
        {
            throw new RequestRejectedException(Rejection.Unprocessable, "name must not contain control characters", "name");
        }
        return name.Length == 0 ? null : name;
    }

    private static RequestRejectedException QueueFull(int cap) =>
        new(Rejection.QueueFull, $"the queue is full ({cap} jobs waiting, Berth:QueueCap); retry later");

    private async Task TryDeleteFilesAsync(string id)
    {
        try
        {
            await files.DeleteAllAsync(id, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Data.Common.DbException)
        {
            Log.DeleteFilesFailed(logger, id, e);
        }
    }
}
