using System.Collections.Concurrent;

namespace Berth.Server.Pipeline;

/// <summary>Jobs running in this process, so that a cancel request reaches the worker that runs the job.</summary>
public sealed class ActiveJobs
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _early = new(StringComparer.Ordinal);

    public CancellationTokenSource Register(string jobId)
    {
        var cts = new CancellationTokenSource();
        _jobs[jobId] = cts;
        if (_early.TryRemove(jobId, out _))
        {
            cts.Cancel(); // canceled between the claim and this registration
        }
        return cts;
    }

    public void Unregister(string jobId) => _jobs.TryRemove(jobId, out _);

    public bool IsActive(string jobId) => _jobs.ContainsKey(jobId);

    /// <summary>How many jobs workers here are running now.</summary>
    public int Count => _jobs.Count;

    /// <summary>Signals the job's worker; a job claimed but not yet registered is canceled when it registers.</summary>
    public bool Cancel(string jobId)
    {
        if (!_jobs.TryGetValue(jobId, out var cts))
        {
            _early[jobId] = true;
            return false;
        }
        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        return true;
    }
}

/// <summary>Wakes an idle worker when a job is queued.</summary>
public sealed class QueueSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    public void JobQueued() => _signal.Release();

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}
