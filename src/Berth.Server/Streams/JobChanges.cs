using System.Collections.Immutable;

namespace Berth.Server.Streams;

/// <summary>
/// The process's feed of job changes: stores publish the id of every job whose row changed (and of every job whose log
/// grew, where the store can tell), streams subscribe. Nothing is queued per change: a subscription keeps the set of
/// ids changed since its reader last looked (at most <see cref="Capacity"/>; past it, one flag saying "anything may have
/// changed"), and the reader reads the current state from the store. A slow reader sees fewer, later states, never a
/// growing backlog. With PostgreSQL the database's notifications feed it, so changes made by other API servers and by
/// agents arrive here too.
/// </summary>
public sealed class JobChanges(TimeProvider time)
{
    /// <summary>Most distinct job ids a subscription holds before it says "everything" instead.</summary>
    public const int Capacity = 1024;

    private readonly Lock _gate = new();
    private ImmutableArray<JobChangeSubscription> _subscriptions = [];

    /// <summary>How many subscriptions are open (streams being served).</summary>
    public int SubscriberCount => _subscriptions.Length;

    /// <summary>
    /// Changes of one job (<paramref name="jobId"/>) or of every job (null); with <paramref name="logs"/> also the
    /// growth of the job's logs. Dispose it when done.
    /// </summary>
    public JobChangeSubscription Subscribe(string? jobId = null, bool logs = false)
    {
        var subscription = new JobChangeSubscription(this, jobId, logs, time);
        lock (_gate)
        {
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
            _subscriptions = _subscriptions.Remove(subscription);
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

    internal JobChangeSubscription(JobChanges feed, string? jobId, bool logs, TimeProvider time)
    {
        _feed = feed;
        JobId = jobId;
        Logs = logs;
        _time = time;
    }

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
