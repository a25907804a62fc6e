using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Pipeline;

namespace Berth.Server.Agent;

/// <summary>
/// One job this agent claimed, while it holds it: a heartbeat every third of the lease (and at once when the job's
/// progress changes), its logs shipped every <see cref="ShipInterval"/>, and its last writes (the result, or a release).
/// <para>
/// The lease is lost when the API answers 409 to any write, or when no heartbeat got through for the lease's length (the
/// agent may be cut off: the API will hand the job to another agent). Then the job's work stops at once, as a user's
/// cancel stops it (<see cref="ActiveJobs.Cancel"/>), and nothing more is sent for it.
/// </para>
/// <para>
/// A heartbeat that an API server answers with 503 "Store unavailable" (<see cref="ApiReply{T}.DatabaseDown"/>) is
/// different: the database could not be reached after the heartbeat was sent, so when it comes back it has started after
/// that, and no lease expires within the reconnect grace of its start (<see cref="ClaimResponse.ReconnectGraceSeconds"/>).
/// The lease holds at least until the heartbeat's send time plus the grace, and the job runs on through a database
/// restart; the first heartbeat that reaches the database again renews the lease (or gets 409 if it ran out after all).
/// </para>
/// <para>
/// A job handed to a worker that no worker runs any more, without its end saved (the worker failed in its clean-up), is
/// abandoned: the lease ends here without a result, and the API re-queues the job when the lease runs out.
/// </para>
/// </summary>
public sealed class AgentLease : IAsyncDisposable
{
    public static readonly TimeSpan ShipInterval = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly FleetClient _api;
    private readonly ActiveJobs _active;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogShipper _logs;
    private readonly TimeSpan _lease;
    private readonly TimeSpan _grace;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _beating;
    private readonly CancellationTokenSource _shipping;
    private readonly CancellationTokenSource _watching = new();
    private readonly Func<AgentLease, Task> _abandoned;

    /// <summary>Heartbeats never overlap a write that ends the lease (so no heartbeat meets the 409 of a lease just ended).</summary>
    private readonly SemaphoreSlim _gate = new(1, 1);

    private readonly Lock _handOver = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Job? _unsent;
    private long _heldUntilTicks;
    private bool _handedOver;
    private bool _stopRequested;
    private bool _stopDelivered;
    private int _isLost;
    private int _cancelSeen;
    private int _disposed;
    private volatile bool _ended;
    private Task _heartbeats = Task.CompletedTask;
    private Task _shipper = Task.CompletedTask;
    private Task _watcher = Task.CompletedTask;

    /// <param name="answeredAt">When the claim's answer arrived (this clock). The server claimed the job just before answering
    /// (a claim long-polls, so the time it was sent says nothing); the lease runs from about then.</param>
    /// <param name="abandoned">Called (once, not awaited) when the job's worker is gone without its end saved.</param>
    public AgentLease(ClaimResponse claim, DateTimeOffset answeredAt, JobPaths paths, FleetClient api, ActiveJobs active, TimeProvider time, ILogger logger,
        Func<AgentLease, Task> abandoned)
    {
        _abandoned = abandoned;
        _api = api;
        _active = active;
        _time = time;
        _logger = logger;
        JobId = claim.Job.Id;
        Token = claim.LeaseToken;
        Job = claim.Job;
        Paths = paths;
        _lease = TimeSpan.FromSeconds(Math.Max(1, claim.LeaseSeconds));
        _grace = TimeSpan.FromSeconds(Math.Max(0, claim.ReconnectGraceSeconds));
        _interval = _lease / 3;
        _heldUntilTicks = (answeredAt + _lease).UtcTicks;
        _beating = CancellationTokenSource.CreateLinkedTokenSource(_lost.Token);
        _shipping = CancellationTokenSource.CreateLinkedTokenSource(_lost.Token);
        _logs = new LogShipper(api, JobId, Token, paths, logger);
    }

    public string JobId { get; }

    public long Token { get; }

    public JobPaths Paths { get; }

    /// <summary>The job as last reported by the runner (the claimed job at first).</summary>
    public Job Job { get; private set; }

    public bool IsLost => Volatile.Read(ref _isLost) == 1;

    /// <summary>
    /// Until when (this clock) the lease is surely held: the send time of the last heartbeat that got through, plus the
    /// lease; or, when later, the send time of the last heartbeat answered "the database is down", plus the reconnect grace.
    /// </summary>
    public DateTimeOffset HeldUntil => new(Interlocked.Read(ref _heldUntilTicks), TimeSpan.Zero);

    /// <summary>Starts the heartbeats, the log shipping and the watch on the job's worker.</summary>
    public void Start()
    {
        _heartbeats = Task.Run(BeatAsync, CancellationToken.None);
        _shipper = Task.Run(ShipAsync, CancellationToken.None);
        _watcher = Task.Run(WatchAsync, CancellationToken.None);
    }

    /// <summary>The runner saved progress: it goes with the next heartbeat, which goes now.</summary>
    public void Report(Job progress)
    {
        Job = progress;
        Volatile.Write(ref _unsent, progress);
        Volatile.Read(ref _wake).TrySetResult();
    }

    /// <summary>
    /// The job goes to a worker now, which registers it in <see cref="ActiveJobs"/> next: a cancel or a lost lease from
    /// here on stops its work; one that came before is handed over with it.
    /// </summary>
    public void HandOver()
    {
        lock (_handOver)
        {
            _handedOver = true;
            if (_stopRequested)
            {
                _active.Cancel(JobId); // kept for the worker's registration, which comes right after
                _stopDelivered = true;
            }
        }
    }

    /// <summary>Ends the lease here: the job's work stops, nothing more is sent. Logged once.</summary>
    public void Lose(string reason)
    {
        if (_ended || Interlocked.Exchange(ref _isLost, 1) == 1)
        {
            return;
        }
        Log.LeaseLost(_logger, JobId, reason);
        _lost.Cancel();
        StopWork();
    }

    /// <summary>
    /// Sends what is left of the logs, the scan report and SBOM when the job has them, then the result. True when the
    /// result was accepted. Gives up when the lease is lost, the result is refused, or no server took it within
    /// <paramref name="patience"/> (the server then re-queues the job once the lease runs out).
    /// </summary>
    public async Task<bool> CompleteAsync(Job result, TimeSpan patience)
    {
        await StopShippingAsync();
        var giveUpAt = _time.GetUtcNow() + patience;
        var logs = await RetryAsync("logs", _logs.ShipAsync, giveUpAt, endsLease: false);
        if (logs.Outcome is not ApiOutcome.Done)
        {
            return NotSent(logs, "logs");
        }
        foreach (var (file, path) in new[] { (JobFile.ScanReport, Paths.ScanReport), (JobFile.Sbom, Paths.Sbom) }.Where(f => File.Exists(f.Item2)))
        {
            var what = AgentProtocol.FileName(file);
            var sent = await RetryAsync(what, ct => _api.PutFileAsync(JobId, Token, file, path, ct), giveUpAt, endsLease: false);
            if (sent.Outcome == ApiOutcome.Refused)
            {
                Log.WriteRefused(_logger, JobId, what, sent.Problem ?? "");
            }
            else if (sent.Outcome != ApiOutcome.Done)
            {
                return NotSent(sent, what);
            }
        }
        var posted = await RetryAsync("result", ct => _api.PostResultAsync(JobId, new ResultRequest(Token, result), ct), giveUpAt, endsLease: true);
        return posted.Outcome == ApiOutcome.Done || NotSent(posted, "result");
    }

    /// <summary>Gives the job back (the agent is stopping): it is queued again without counting this attempt. True when the API took it.</summary>
    public async Task<bool> ReleaseAsync(TimeSpan patience)
    {
        await StopShippingAsync();
        var released = await RetryAsync("release", ct => _api.ReleaseAsync(JobId, new ReleaseRequest(Token), ct), _time.GetUtcNow() + patience, endsLease: true);
        return released.Outcome == ApiOutcome.Done || NotSent(released, "release");
    }

    /// <summary>
    /// Sends until the API takes it, refuses it, or answers 409 (the lease is then lost); or until the lease is lost
    /// otherwise, or <paramref name="giveUpAt"/>. Waits a little longer after each failure.
    /// </summary>
    public async Task<ApiReply<T>> RetryAsync<T>(string what, Func<CancellationToken, Task<ApiReply<T>>> send, DateTimeOffset giveUpAt, bool endsLease)
    {
        var delay = FirstRetryDelay;
        while (true)
        {
            ApiReply<T> reply;
            try
            {
                reply = endsLease ? await SendEndingAsync(send) : await send(_lost.Token);
            }
            catch (OperationCanceledException) when (IsLost)
            {
                return LostReply<T>();
            }
            switch (reply.Outcome)
            {
                case ApiOutcome.Done or ApiOutcome.Refused:
                    return reply;
                case ApiOutcome.Stale:
                    Lose($"the API answered 409 to the {what} ({reply.Problem})");
                    return reply;
            }
            if (_time.GetUtcNow() + delay > giveUpAt)
            {
                return reply;
            }
            try
            {
                await Task.Delay(delay, _time, _lost.Token);
            }
            catch (OperationCanceledException)
            {
                return LostReply<T>();
            }
            delay = delay * 2 > MaxRetryDelay ? MaxRetryDelay : delay * 2;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _beating.CancelAsync();
        await _shipping.CancelAsync();
        await _watching.CancelAsync();
        await Task.WhenAll(_heartbeats, _shipper, _watcher);
        _beating.Dispose();
        _shipping.Dispose();
        _watching.Dispose();
        _lost.Dispose();
        _gate.Dispose();
    }

    private async Task<ApiReply<T>> SendEndingAsync<T>(Func<CancellationToken, Task<ApiReply<T>>> send)
    {
        await _gate.WaitAsync(_lost.Token);
        try
        {
            var reply = await send(_lost.Token);
            _ended = reply.Outcome == ApiOutcome.Done;
            return reply;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static ApiReply<T> LostReply<T>() => new(ApiOutcome.Stale, default, "the lease was lost");

    private bool NotSent<T>(ApiReply<T> reply, string what)
    {
        if (!IsLost)
        {
            Log.NotSent(_logger, JobId, what, reply.Outcome.ToString(), reply.Problem ?? "");
        }
        return false;
    }

    private void StopWork()
    {
        lock (_handOver)
        {
            _stopRequested = true;
            DeliverStop();
        }
    }

    /// <summary>
    /// Cancels the job's work when its worker runs it now. Never leaves a cancel behind in <see cref="ActiveJobs"/> for a job
    /// no worker registers (it would cancel a later claim of the same job here at once); the watch delivers one that
    /// came between the hand-over and the registration.
    /// </summary>
    private void DeliverStop()
    {
        if (_stopRequested && _handedOver && !_stopDelivered && _active.IsActive(JobId) && _active.Cancel(JobId))
        {
            _stopDelivered = true;
        }
    }

    /// <summary>Every <see cref="ShipInterval"/>: delivers a pending stop, and abandons the lease once no worker has run the job for a few rounds.</summary>
    private async Task WatchAsync()
    {
        var gone = 0;
        while (gone < 3)
        {
            try
            {
                await Task.Delay(ShipInterval, _time, _watching.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            lock (_handOver)
            {
                DeliverStop();
                gone = _handedOver && !_active.IsActive(JobId) ? gone + 1 : 0;
            }
        }
        Log.LeaseAbandoned(_logger, JobId);
        _ = Task.Run(() => _abandoned(this), CancellationToken.None);
    }

    private async Task StopShippingAsync()
    {
        await _shipping.CancelAsync();
        await _shipper;
    }

    private async Task BeatAsync()
    {
        var stop = _beating.Token;
        var wait = _interval;
        var failing = false;
        var databaseDown = false; // the lease is held by the reconnect grace
        while (!_ended)
        {
            try
            {
                await WaitAsync(wait, stop);
                await _gate.WaitAsync(stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            ApiReply<HeartbeatResponse> reply;
            Job? progress;
            try
            {
                if (_ended)
                {
                    return;
                }
                var sentAt = _time.GetUtcNow();
                var remaining = HeldUntil - sentAt;
                if (remaining <= TimeSpan.Zero)
                {
                    Lose(databaseDown
                        ? $"no heartbeat got through within the reconnect grace ({_grace.TotalSeconds:0.#} s) of the database outage the API reported"
                        : $"no heartbeat got through for {_lease.TotalSeconds:0.#} s (the lease's length)");
                    return;
                }
                progress = Interlocked.Exchange(ref _unsent, null);
                using var deadline = new CancellationTokenSource(remaining, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, deadline.Token);
                try
                {
                    reply = await _api.HeartbeatAsync(JobId, new HeartbeatRequest(Token, progress), linked.Token);
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    reply = new(ApiOutcome.Unavailable, default, "no answer before the lease ran out");
                }
                if (reply.Outcome == ApiOutcome.Done)
                {
                    Interlocked.Exchange(ref _heldUntilTicks, (sentAt + _lease).UtcTicks);
                    databaseDown = false;
                }
                else if (reply.DatabaseDown && sentAt + _grace > HeldUntil)
                {
                    Interlocked.Exchange(ref _heldUntilTicks, (sentAt + _grace).UtcTicks); // this loop is the only writer after the claim
                    databaseDown = true;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            finally
            {
                _gate.Release();
            }

            switch (reply.Outcome)
            {
                case ApiOutcome.Done:
                    if (failing)
                    {
                        Log.HeartbeatRecovered(_logger, JobId);
                        failing = false;
                    }
                    if (reply.Value!.Cancel && Interlocked.Exchange(ref _cancelSeen, 1) == 0)
                    {
                        Log.CancelRequested(_logger, JobId);
                        StopWork();
                    }
                    wait = _interval;
                    break;
                case ApiOutcome.Stale:
                    Lose($"the API answered 409 to a heartbeat ({reply.Problem})");
                    return;
                default:
                    Interlocked.CompareExchange(ref _unsent, progress, null); // unless newer progress came meanwhile
                    if (!failing)
                    {
                        Log.HeartbeatFailing(_logger, JobId, reply.Outcome.ToString(), reply.Problem ?? "", HeldUntil);
                        failing = true;
                    }
                    wait = _interval < ShipInterval ? _interval : ShipInterval;
                    break;
            }
        }
    }

    /// <summary>Waits <paramref name="wait"/>, or less when progress comes.</summary>
    private async Task WaitAsync(TimeSpan wait, CancellationToken stop)
    {
        var wake = Volatile.Read(ref _wake);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var delay = Task.Delay(wait, _time, done.Token);
        await Task.WhenAny(delay, wake.Task);
        await done.CancelAsync();
        stop.ThrowIfCancellationRequested();
        if (wake.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
        }
    }

    private async Task ShipAsync()
    {
        var stop = _shipping.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(ShipInterval, _time, stop);
                var reply = await _logs.ShipAsync(stop);
                if (reply.Outcome == ApiOutcome.Stale)
                {
                    Lose($"the API answered 409 to a log chunk ({reply.Problem})");
                    return;
                }
                // Unavailable: the next round sends it again; the heartbeats decide when the lease is lost.
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.LogShippingFailed(_logger, JobId, e);
            }
        }
    }
}
