using System.Collections.Concurrent;
using Berth.Scanner;
using Berth.Server.Configuration;
using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Pipeline;
using Microsoft.Extensions.Options;

namespace Berth.Server.Agent;

/// <summary>
/// The agent's <see cref="IJobLedger"/>: the lease client. It keeps nothing on disk and talks only to the API.
/// <list type="bullet">
/// <item><see cref="ClaimNextAsync"/> long-polls a claim, then writes the job's Dockerfile and downloads its context into the
/// job's directory here, under a lease kept alive from the claim on (<see cref="AgentLease"/>).</item>
/// <item><see cref="SaveAsync"/> of an active job sends its progress with the next heartbeat; of a terminal one, the rest of
/// its logs, its scan report and SBOM, then the result; of a queued one (the agent is stopping), a release. After the last
/// two, everything the job held here goes (<see cref="JobResources"/>) but its image, while <c>Build:ImageRetentionSeconds</c>
/// keeps it for reuse.</item>
/// <item><see cref="GetAsync"/> knows the jobs held now and those finished here within the image retention; every other job
/// is unknown, so the janitor removes whatever this agent's engine and data root hold of it.</item>
/// </list>
/// </summary>
public sealed class AgentLedger(
    FleetClient api,
    AgentSettings settings,
    JobResources resources,
    ActiveJobs active,
    IOptions<LimitsOptions> limits,
    IOptions<BuildOptions> build,
    TimeProvider time,
    ILogger<AgentLedger> logger) : IJobLedger
{
    /// <summary>How long one claim request waits for a job.</summary>
    public const int ClaimWaitSeconds = 20;

    /// <summary>How long the agent tries to deliver a result (and download a context) while servers do not answer.</summary>
    public static readonly TimeSpan ResultPatience = TimeSpan.FromMinutes(5);

    /// <summary>How long a stopping agent tries to give a job back.</summary>
    public static readonly TimeSpan ReleasePatience = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan MaxClaimBackoff = TimeSpan.FromSeconds(15);

    private readonly ConcurrentDictionary<string, AgentLease> _leases = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Job> _finished = new(StringComparer.Ordinal);
    private int _claimFailures;

    /// <summary>Claims a job from the API and makes its directory here. Null when none came (or the claim could not be used).</summary>
    public async Task<Job?> ClaimNextAsync(JobStatus status, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var reply = await api.ClaimAsync(new ClaimRequest(settings.Name, ClaimWaitSeconds), cancellationToken);
        // A claim long-polls: the server claims the job just before it answers, not when the request was sent.
        var answeredAt = time.GetUtcNow();
        if (reply.Outcome != ApiOutcome.Done)
        {
            await BackOffAsync(reply, cancellationToken);
            return null;
        }
        if (Interlocked.Exchange(ref _claimFailures, 0) > 0)
        {
            Log.ApiReachable(logger, api.CurrentServer.ToString());
        }
        if (reply.Value is not { } claim)
        {
            return null;
        }

        JobPaths paths;
        try
        {
            paths = resources.PathsOf(claim.Job.Id);
            // The agent enforces its own maxima: an API server (or someone between) cannot lift a job's limits here.
            var asked = claim.Job.Limits;
            Submissions.JobService.ResolveLimits(new Submissions.LimitsRequest(asked.TimeoutSeconds, asked.MemoryMb, asked.Cpus, asked.DataMb), limits.Value);
        }
        catch (Exception e) when (e is ArgumentException or Errors.RequestRejectedException)
        {
            Log.ClaimDropped(logger, Ellipsis.Truncate(claim.Job.Id, 64), e.Message);
            return null; // not a job this agent can hold: its lease runs out on the server
        }
        // Every line about the job carries its ids, also those of the lease's loops (started inside this scope).
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["JobId"] = claim.Job.Id, ["CorrelationId"] = claim.Job.CorrelationId });
        var lease = new AgentLease(claim, answeredAt, paths, api, active, time, logger, abandoned => EndAsync(abandoned, release: false));
        if (!_leases.TryAdd(lease.JobId, lease))
        {
            Log.ClaimDropped(logger, lease.JobId, "this agent still holds an earlier claim of the job");
            await lease.DisposeAsync();
            return null; // the earlier lease is stale now: its next write is refused and it ends
        }
        Log.JobClaimed(logger, lease.JobId, claim.Job.Attempts, lease.Token, api.CurrentServer.ToString());
        lease.Start();
        bool ready;
        try
        {
            ready = await PrepareAsync(lease, claim, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await EndAsync(lease, release: true);
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.ClaimDropped(logger, lease.JobId, $"its files could not be written here: {e.Message}");
            ready = false;
        }
        if (!ready)
        {
            await EndAsync(lease, release: !lease.IsLost);
            return null;
        }
        lease.HandOver();
        return lease.Job;
    }

    /// <summary>Progress goes with the next heartbeat; a terminal job's result and a queued job's release are sent now.</summary>
    public async Task SaveAsync(Job job, CancellationToken cancellationToken)
    {
        if (!_leases.TryGetValue(job.Id, out var lease))
        {
            return; // not held here (any more): nothing is sent for it
        }
        if (job.Status.IsActive())
        {
            lease.Report(job);
            return;
        }
        if (!job.Status.IsTerminal())
        {
            await EndAsync(lease, release: true); // the agent is stopping: the job runs again elsewhere
            return;
        }
        var delivered = false;
        try
        {
            delivered = !lease.IsLost && await lease.CompleteAsync(job, ResultPatience);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.NotSent(logger, job.Id, "result", "local files unreadable", e.Message);
        }
        finally
        {
            if (delivered)
            {
                Log.ResultSent(logger, job.Id, job.Status.ToWire());
                RecordFinished(job);
            }
            await EndAsync(lease, release: false, keepImage: delivered);
        }
    }

    /// <summary>The jobs this agent holds (none survive a restart: the API re-queues them when their leases run out).</summary>
    public Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Job>>(_leases.Values.Select(l => l.Job).Where(j => j.Status.IsActive()).OrderBy(j => j.Sequence).ToList());

    public Task<Job?> GetAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(_leases.TryGetValue(id, out var lease) ? lease.Job : _finished.GetValueOrDefault(id));

    /// <summary>The job's directory, fresh: its Dockerfile and its context, downloaded while the lease is held.</summary>
    private async Task<bool> PrepareAsync(AgentLease lease, ClaimResponse claim, CancellationToken cancellationToken)
    {
        var paths = lease.Paths;
        if (Directory.Exists(paths.Directory))
        {
            await resources.ReleaseAsync(lease.JobId, JobParts.All, cancellationToken); // an earlier claim of this job left it
        }
        Directory.CreateDirectory(Path.GetDirectoryName(paths.Directory)!);
        Directory.CreateDirectory(paths.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await File.WriteAllTextAsync(paths.Dockerfile, claim.Dockerfile, cancellationToken);
        var maxBytes = Units.Mebibytes(limits.Value.MaxContextMb) + Units.Mebibytes(4); // the Dockerfile and tar headers
        var context = await lease.RetryAsync("context download",
            async ct =>
            {
                using var either = CancellationTokenSource.CreateLinkedTokenSource(ct, cancellationToken);
                return await api.DownloadContextAsync(lease.JobId, lease.Token, paths.BuildContext, maxBytes, either.Token);
            },
            time.GetUtcNow() + ResultPatience, endsLease: false);
        cancellationToken.ThrowIfCancellationRequested();
        if (context.Outcome != ApiOutcome.Done && !lease.IsLost)
        {
            Log.ClaimDropped(logger, lease.JobId, $"its context could not be downloaded: {context.Outcome} {context.Problem}");
        }
        return context.Outcome == ApiOutcome.Done;
    }

    /// <summary>Stops the lease (giving the job back first when asked) and releases everything the job held here.</summary>
    private async Task EndAsync(AgentLease lease, bool release, bool keepImage = false)
    {
        try
        {
            if (release && !lease.IsLost && await lease.ReleaseAsync(ReleasePatience))
            {
                Log.JobReleased(logger, lease.JobId);
            }
        }
        finally
        {
            await lease.DisposeAsync();
            _leases.TryRemove(new KeyValuePair<string, AgentLease>(lease.JobId, lease));
            var parts = keepImage && build.Value.ImageRetentionSeconds > 0 ? JobParts.All & ~JobParts.Image : JobParts.All;
            await resources.ReleaseAsync(lease.JobId, parts, CancellationToken.None);
        }
    }

    /// <summary>Kept while its image may be reused (or removed by the janitor once retention passed); older ones go.</summary>
    private void RecordFinished(Job job)
    {
        var retention = TimeSpan.FromSeconds(build.Value.ImageRetentionSeconds);
        var now = time.GetUtcNow();
        foreach (var old in _finished.Values.Where(j => j.FinishedAt is not { } at || now - at > retention))
        {
            _finished.TryRemove(old.Id, out _);
        }
        if (retention > TimeSpan.Zero)
        {
            _finished[job.Id] = job;
        }
    }

    private async Task BackOffAsync(ApiReply<ClaimResponse> reply, CancellationToken cancellationToken)
    {
        var failures = Interlocked.Increment(ref _claimFailures);
        if (failures == 1)
        {
            if (reply.Outcome == ApiOutcome.Unavailable)
            {
                Log.ApiUnavailable(logger, string.Join(", ", settings.Servers), reply.Problem ?? "");
            }
            else
            {
                Log.ClaimRefused(logger, api.CurrentServer.ToString(), reply.Problem ?? reply.Outcome.ToString());
            }
        }
        var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(failures - 1, 4)));
        await Task.Delay(delay < MaxClaimBackoff ? delay : MaxClaimBackoff, time, cancellationToken);
    }
}
