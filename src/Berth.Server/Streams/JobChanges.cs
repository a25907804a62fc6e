using System.Collections.Immutable;
using Berth.Server.Configuration;
using Berth.Server.Errors;
using Microsoft.Extensions.Options;

namespace Berth.Server.Streams;

/// <summary>
/// The process's feed of job changes: stores publish the id of every job whose row changed (and of every job whose log
/// grew, where the store can tell), streams subscribe. Nothing is queued per change: a subscription keeps the set of
/// ids changed since its reader last looked (at most <see cref="Capacity"/>; past it, one flag saying "anything may have
/// changed"), and the reader reads the current state from the store. A slow reader sees fewer, later states, never a
/// growing backlog. With PostgreSQL the database's notifications feed it, so changes made by other API servers and by
/// agents arrive here too.
/// </summary>
public sealed class JobChanges(TimeProvider time, IOptions<LimitsOptions>? limits = null)
{
    /// <summary>Most distinct job ids a subscription holds before it says "everything" instead.</summary>
    public const int Capacity = 1024;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _perOwner = new(StringComparer.Ordinal);
    private readonly int _maxPerOwner = limits?.Value.MaxStreamsPerOwner ?? new LimitsOptions().MaxStreamsPerOwner;
    private ImmutableArray<JobChangeSubscription> _subscriptions = [];

    /// <summary>How many subscriptions are open (streams being served).</summary>
    public int SubscriberCount => _subscriptions.Length;

    /// <summary>How many subscriptions follow the job <paramref name="jobId"/> alone (its events or log streams).</summary>
    public int SubscribersOf(string jobId) => _subscriptions.Count(s => s.JobId == jobId);

    /// <summary>
    /// Changes of one job (<paramref name="jobId"/>) or of every job (null); with <paramref name="logs"/> also the
    /// growth of the job's logs. Dispose it when done.
    /// </summary>
    public JobChangeSubscription Subscribe(string? jobId = null, bool logs = false) => Subscribe(jobId, logs, owner: null);

    /// <summary>
    /// A subscription for a stream served to <paramref name="owner"/>: refused (429) when the owner has
    /// <c>Limits:MaxStreamsPerOwner</c> streams open already, so one key cannot hold the server's connections and
    /// multiply its store reads without bound.
    /// </summary>
    public JobChangeSubscription Subscribe(string? jobId, bool logs, string? owner)
    {
        var subscription = new JobChangeSubscription(this, jobId, logs, time, owner);
        lock (_gate)
        {
            if (owner is not null)
            {
                var open = _perOwner.GetValueOrDefault(owner);
                if (open >= _maxPerOwner)
                {
                    throw new RequestRejectedException(Rejection.TooManyRequests,
                        $"'{owner}' has {open} streams open, the most Limits:MaxStreamsPerOwner allows; close one (or poll GET /api/v1/jobs/{{id}})")
                    {
                        RetryAfter = TimeSpan.FromSeconds(5),
                    };
                }
                _perOwner[owner] = open + 1;
            }
            _subscriptions = _subscriptions.Add(subscription);
        }
        return subscription;
    }

    /// <summary>The job's record changed (or the job was added or deleted).</summary>
    public void Publish(string jobId)
    {
        foreach (var subscription in _subscriptions)
        {
            if (subscription.JobId is null || subscription.JobId == jobId)
            {
                subscription.Add(jobId);
            }
        }
    }

    /// <summary>The job's build or run log grew (only subscriptions that asked for logs hear it).</summary>
    public void PublishLog(string jobId)
    {
        foreach (var subscription in _subscriptions)
        {
            if (subscription.Logs && subscription.JobId == jobId)
            {
                subscription.Add(jobId);
            }
        }
    }

    /// <summary>Anything may have changed (notifications were lost): every subscriber reads again.</summary>
    public void PublishAll()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.AddEverything();
        }
    }

    internal void Remove(JobChangeSubscription subscription)
    {
        lock (_gate)
        {
            var before = _subscriptions.Length;
            _subscriptions = _subscriptions.Remove(subscription);
            if (_subscriptions.Length < before && subscription.Owner is { } owner)
            {
                if (_perOwner[owner] <= 1)
                {
                    _perOwner.Remove(owner);
                }
                else
                {
                    _perOwner[owner]--;
                }
            }
        }
    }
}

/// <summary>What changed since the reader last looked: these jobs, or (<see cref="Everything"/>) possibly any job.</summary>
public sealed record JobChangeSet(IReadOnlyCollection<string> JobIds, bool Everything)
{
    public static JobChangeSet None { get; } = new([], false);

    public bool IsEmpty => !Everything && JobIds.Count == 0;
}

/// <summary>One reader's view of <see cref="JobChanges"/>: a bounded set of changed ids and a signal.</summary>
public sealed class JobChangeSubscription : IDisposable
{
    private readonly JobChanges _feed;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private bool _everything;
    private TaskCompletionSource _signal = NewSignal();

    internal JobChangeSubscription(JobChanges feed, string? jobId, bool logs, TimeProvider time, string? owner = null)
    {
        _feed = feed;
        JobId = jobId;
        Logs = logs;
        _time = time;
        Owner = owner;
    }

    /// <summary>Whose stream this is (counted against <c>Limits:MaxStreamsPerOwner</c>); null for the server's own use.</summary>
    public string? Owner { get; }

    /// <summary>The one job followed, or null for every job.</summary>
    public string? JobId { get; }

    /// <summary>Log growth counts as a change.</summary>
    public bool Logs { get; }

    /// <summary>How many job ids wait to be taken (never more than <see cref="JobChanges.Capacity"/>).</summary>
    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>
    /// The changes since the last call, waiting for one when there are none; <see cref="JobChangeSet.None"/> when
    /// <paramref name="timeout"/> passes first (<see cref="Timeout.InfiniteTimeSpan"/> waits for ever).
    /// </summary>
    public async Task<JobChangeSet> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task signal;
        lock (_gate)
        {
            if (_everything || _pending.Count > 0)
            {
                return TakeLocked();
            }
            signal = _signal.Task;
        }
        try
        {
            await signal.WaitAsync(timeout, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return JobChangeSet.None;
        }
        lock (_gate)
        {
            return TakeLocked();
        }
    }

    public void Dispose() => _feed.Remove(this);

    internal void Add(string jobId)
    {
        lock (_gate)
        {
            if (!_everything && !_pending.Contains(jobId))
            {
                if (_pending.Count >= JobChanges.Capacity)
                {
                    _pending.Clear();
                    _everything = true;
                }
                else
                {
                    _pending.Add(jobId);
                }
            }
            _signal.TrySetResult();
        }
    }

    internal void AddEverything()
    {
        lock (_gate)
        {
            _pending.Clear();
            _everything = true;
            _signal.TrySetResult();
        }
    }

    private JobChangeSet TakeLocked()
    {
        var taken = _everything ? JobChangeSet.None with { Everything = true } : new JobChangeSet([.. _pending], false);
        _pending.Clear();
        _everything = false;
        if (_signal.Task.IsCompleted)
        {
            _signal = NewSignal();
        }
        return taken;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
