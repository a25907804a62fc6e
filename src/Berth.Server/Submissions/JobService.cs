using System.Globalization;
using Berth.Server.Auth;
using Berth.Server.Configuration;
using Berth.Server.Contexts;
using Berth.Server.Errors;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Pipeline;
using Microsoft.Extensions.Options;
using Berth.Scanner;

namespace Berth.Server.Submissions;

/// <summary>What the API does to jobs: submit, cancel, delete. Reads go straight to <see cref="IJobStore"/>.</summary>
public sealed class JobService(
    IJobStore store,
    JobPipeline pipeline,
    ActiveJobs active,
    QueueSignal signal,
    JobResources resources,
    IOptions<BerthOptions> berthOptions,
    IOptions<LimitsOptions> limitsOptions,
    TimeProvider time,
    ILogger<JobService> logger)
{
    private const int MaxNameLength = 200;

    /// <summary>Stores the job's files, then the queued job. Throws <see cref="RequestRejectedException"/> for bad input or a full queue.</summary>
    public async Task<Job> SubmitAsync(JobSubmission submission, Caller caller, string? correlationId, CancellationToken cancellationToken)
    {
        var berth = berthOptions.Value;
        var limits = ResolveLimits(submission.Limits, limitsOptions.Value);
        var name = CheckName(submission.Name);
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
        var paths = JobPaths.For(berth.JobsRoot, id);
        Directory.CreateDirectory(berth.JobsRoot);
        Directory.CreateDirectory(paths.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            string dockerfile;
            await using (var tar = new FileStream(paths.BuildContext, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                var limitsValue = limitsOptions.Value;
                dockerfile = await BuildContextPacker.PackAsync(submission.Dockerfile, submission.Context, tar,
                    Units.Mebibytes(limitsValue.MaxContextMb), limitsValue.MaxContextFiles, limitsValue.MaxCompressionRatio, cancellationToken);
            }
            JobSubmission.CheckDockerfile(dockerfile);
            await File.WriteAllTextAsync(paths.Dockerfile, dockerfile, cancellationToken);

            var job = new Job(id, 0, name, JobStatus.Queued, limits, correlationId, now, null, null, null, null,
                pipeline.InitialStages(), null, null, [], 0, Owner: caller.Owner, Cache: submission.Cache);
            var stored = await store.TryEnqueueAsync(job, berth.QueueCap, cancellationToken) ?? throw QueueFull(berth.QueueCap);
            Log.JobAccepted(logger, id, name);
            signal.JobQueued();
            return stored;
        }
        catch
        {
            TryDeleteDirectory(id, paths.Directory);
            throw;
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
            return await store.GetAsync(id, cancellationToken); // it never starts
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
        active.Cancel(id); // the worker stops the build or the container, then marks the job canceled
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
        // A job that never started has nothing on the engine or mounted: its files go without asking the engine.
        var parts = job.Attempts == 0 && job.StartedAt is null ? JobParts.Context | JobParts.Directory : JobParts.All;
        await resources.ReleaseAsync(id, parts, cancellationToken); // what is left fails softly: the janitor retries
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

    private void TryDeleteDirectory(string id, string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.DeleteFilesFailed(logger, id, e);
        }
    }
}
