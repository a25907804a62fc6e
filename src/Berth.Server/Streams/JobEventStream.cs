using System.Security.Cryptography;
using System.Text;
using Berth.Server.Auth;
using Berth.Server.Jobs;

namespace Berth.Server.Streams;

/// <summary>
/// The loops behind <c>GET /api/v1/jobs/{id}/events</c> and <c>GET /api/v1/events</c>: wait for the feed, read the
/// current state from the store, send it when it differs from what this stream sent last. A keep-alive comment goes out
/// whenever <see cref="KeepAlive"/> passed without a write, however often the feed woke the loop for changes this
/// stream does not show (another owner's jobs): proxies cut idle streams, and a gone client is noticed on a write.
/// </summary>
internal sealed class JobEventStream(IJobStore store, TimeProvider time)
{
    internal static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    /// <summary>Jobs read again when the feed overflowed ("anything may have changed"): the newest ones, as a first page shows.</summary>
    internal const int RescanJobs = 100;

    /// <summary>Jobs whose last sent state <see cref="AllAsync"/> remembers (to skip sending the same state twice).</summary>
    internal const int RememberedJobs = JobChanges.Capacity;

    /// <summary>One job: its state now, then each change, then <c>end</c> once it is terminal (or was deleted).</summary>
    public async Task OneAsync(Job first, JobChangeSubscription changes, ServerSentEvents events, CancellationToken cancellationToken)
    {
        string? last = null;
        var job = first;
        while (true)
        {
            var json = ServerSentEvents.Json(job);
            if (json != last)
            {
                await events.JobAsync(json, cancellationToken);
                last = json;
            }
            if (job.Status.IsTerminal())
            {
                await events.EndAsync(cancellationToken);
                return;
            }
            while ((await changes.WaitAsync(KeepAlive, cancellationToken)).IsEmpty)
            {
                await events.KeepAliveAsync(cancellationToken);
            }
            // (A one-job stream wakes only for its own job, and each wake-up reads it: any write restarts the quiet time.)
            if (await store.GetAsync(job.Id, cancellationToken) is not { } now)
            {
                await events.EndAsync(cancellationToken);
                return;
            }
            job = now;
        }
    }

    /// <summary>
    /// Every change of a job <paramref name="caller"/> may see, oldest job first within one wake-up; never ends by itself.
    /// After an overflow it sends the current state of the newest <see cref="RescanJobs"/> jobs and of every job it last
    /// showed unfinished (whichever differ from what it sent).
    /// </summary>
    public async Task AllAsync(Caller caller, JobChangeSubscription changes, ServerSentEvents events, CancellationToken cancellationToken)
    {
        var sent = new Dictionary<string, (string Hash, bool Terminal)>(StringComparer.Ordinal);
        var lastWrite = time.GetTimestamp();
        while (true)
        {
            var quiet = time.GetElapsedTime(lastWrite); // read once: read twice, the wait below could come out negative
            if (quiet >= KeepAlive)
            {
                await events.KeepAliveAsync(cancellationToken);
                lastWrite = time.GetTimestamp();
                quiet = TimeSpan.Zero;
            }
            var changed = await changes.WaitAsync(KeepAlive - quiet, cancellationToken);
            if (changed.IsEmpty)
            {
                continue;
            }
            var jobs = new Dictionary<string, Job>(StringComparer.Ordinal);
            if (changed.Everything)
            {
                foreach (var job in await store.ListAsync(caller.IsAdmin ? null : caller.Owner, null, RescanJobs, null, cancellationToken))
                {
                    jobs[job.Id] = job;
                }
            }
            var ids = changed.Everything ? sent.Where(s => !s.Value.Terminal).Select(s => s.Key).ToList() : changed.JobIds;
            foreach (var id in ids.Where(id => !jobs.ContainsKey(id)))
            {
                if (await store.GetAsync(id, cancellationToken) is { } job)
                {
                    jobs[id] = job;
                }
            }
            foreach (var job in jobs.Values.Where(caller.CanSee).OrderBy(j => j.Sequence))
            {
                var json = ServerSentEvents.Json(job);
                var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
                if (sent.TryGetValue(job.Id, out var last) && last.Hash == hash)
                {
                    continue;
                }
                await events.JobAsync(json, cancellationToken);
                lastWrite = time.GetTimestamp();
                Remember(sent, job.Id, hash, job.Status.IsTerminal());
            }
        }
    }

    /// <summary>Bounded: past <see cref="RememberedJobs"/> it forgets finished jobs, then everything.</summary>
    private static void Remember(Dictionary<string, (string Hash, bool Terminal)> sent, string id, string hash, bool terminal)
    {
        if (sent.Count >= RememberedJobs && !sent.ContainsKey(id))
        {
            foreach (var done in sent.Where(s => s.Value.Terminal).Select(s => s.Key).ToList())
            {
                sent.Remove(done);
            }
            if (sent.Count >= RememberedJobs)
            {
                sent.Clear();
            }
        }
        sent[id] = (hash, terminal);
    }
}
