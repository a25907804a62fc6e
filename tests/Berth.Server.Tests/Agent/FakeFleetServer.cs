using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Berth.Server.Contexts;
using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.Server.Tests.Agent;

/// <summary>
/// The API side of the agent protocol, in memory, on a loopback Kestrel: the routes of <see cref="AgentProtocol"/> with the
/// rules of <see cref="IFleetStore"/> (a write with a token that is not the job's current lease, or for a job no longer
/// active, is answered 409; a log chunk past the end is 422; a retried chunk is stored once; a result is written once).
/// <see cref="Outage"/> answers every request with that status (503: an API server whose database is down).
/// </summary>
internal sealed class FakeFleetServer : IAsyncDisposable
{
    public const string AgentToken = "agent-token-for-tests";

    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<FakeJob> _jobs = [];
    private long _lastToken = 1000;

    private FakeFleetServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The first listener's address.</summary>
    public Uri Url => Urls[0];

    /// <summary>One address per listener: as many API servers sharing one database.</summary>
    public IReadOnlyList<Uri> Urls { get; private set; } = [];

    /// <summary>Handed out with each claim.</summary>
    public int LeaseSeconds { get; set; } = 3;

    /// <summary>The longest a claim waits here (the agent asks for more).</summary>
    public TimeSpan MaxClaimWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Each log stops growing at this many bytes (as the real store's cap).</summary>
    public int? LogCapBytes { get; set; }

    /// <summary>Handed out with each claim (<see cref="ClaimResponse.ReconnectGraceSeconds"/>).</summary>
    public int ReconnectGraceSeconds { get; set; }

    /// <summary>While set, every request is answered with this status (and a ProblemDetails body titled <see cref="OutageTitle"/>).</summary>
    public int? Outage { get; set; }

    /// <summary>The title of the outage's ProblemDetails; <see cref="Berth.Server.Http.StoreUnavailable.Title"/> with 503: the database is down.</summary>
    public string OutageTitle { get; set; } = "outage";

    /// <summary>Every request, as <c>METHOD /path status @port</c> (status <c>aborted</c> on a listener taken down), in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    private ConcurrentDictionary<int, bool> DownPorts { get; } = new();

    /// <param name="listeners">How many API servers (loopback ports) share this state.</param>
    public static async Task<FakeFleetServer> StartAsync(int listeners = 1)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(string.Join(";", Enumerable.Repeat("http://127.0.0.1:0", listeners)));
        builder.Logging.ClearProviders();
        var server = new FakeFleetServer(builder.Build());
        server.Map();
        await server._app.StartAsync();
        server.Urls = server._app.Urls.Select(u => new Uri(u)).ToList();
        return server;
    }

    /// <summary>The next <paramref name="count"/> requests <c>METHOD /path</c> are answered <paramref name="status"/>.</summary>
    public void FailNext(string request, int count, int status) => _failNext[request] = (count, status);

    private readonly ConcurrentDictionary<string, (int Count, int Status)> _failNext = new(StringComparer.Ordinal);

    /// <summary>The API server at <paramref name="url"/> stops answering: each request's connection is dropped.</summary>
    public void TakeDown(Uri url) => DownPorts[url.Port] = true;

    /// <summary>A loopback address nothing listens on (connections are refused).</summary>
    public static Uri ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>Queues a job whose context holds only <paramref name="dockerfile"/>.</summary>
    public async Task<FakeJob> EnqueueAsync(string dockerfile = Pipeline.RunnerHarness.Dockerfile, int timeoutSeconds = 60)
    {
        using var tar = new MemoryStream();
        await BuildContextPacker.PackAsync(dockerfile, null, tar, RawTarMb(8), 100, 100, CancellationToken.None);
        lock (_gate)
        {
            var id = Guid.NewGuid().ToString("N");
            var stages = new[] { "lint", "build", "scan", "run", "collect" }.Select(s => new StageState(s, StageStatus.Pending, null, null)).ToList();
            var job = new FakeJob(new Job(id, _jobs.Count + 1, null, JobStatus.Queued, new JobLimits(timeoutSeconds, 256, 1), $"corr-{id[..8]}",
                TimeProvider.System.GetUtcNow(), null, null, null, null, stages, null, null, [], 0), dockerfile, tar.ToArray(), _gate);
            _jobs.Add(job);
            return job;
        }
    }

    /// <summary>A user cancels the job: its agent learns it from the next heartbeat.</summary>
    public void RequestCancel(FakeJob job)
    {
        lock (_gate)
        {
            job.CancelRequested = true;
        }
    }

    /// <summary>The server has less of the log than it answered before (the agent's next chunk meets a gap).</summary>
    public void TruncateLog(FakeJob job, JobLog log)
    {
        lock (_gate)
        {
            job.Logs[log].Clear();
        }
    }

    /// <summary>The job's lease ran out and another agent claimed it: the lease the agent holds is stale now.</summary>
    public void GiveToAnotherAgent(FakeJob job)
    {
        lock (_gate)
        {
            job.Token = ++_lastToken;
        }
    }

    /// <summary>Polls <paramref name="condition"/> (real time) until it holds; fails after <paramref name="seconds"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, int seconds = 20)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                throw new TimeoutException($"after {seconds} s still waiting until {what}");
            }
            await Task.Delay(20);
        }
    }

    private static long RawTarMb(int mb) => mb * 1024L * 1024;

    private void Map()
    {
        _app.Use(async (http, next) =>
        {
            var port = http.Connection.LocalPort;
            if (DownPorts.ContainsKey(port))
            {
                Requests.Enqueue($"{http.Request.Method} {http.Request.Path} aborted @{port}");
                http.Abort();
                return;
            }
            try
            {
                var request = $"{http.Request.Method} {http.Request.Path}";
                if (Outage is { } status)
                {
                    await Problem(status, OutageTitle, "the test made this server unavailable").ExecuteAsync(http);
                }
                else if (_failNext.TryGetValue(request, out var fail) && fail.Count > 0)
                {
                    _failNext[request] = (fail.Count - 1, fail.Status);
                    await Problem(fail.Status, "failure", "the test made this request fail").ExecuteAsync(http);
                }
                else if (http.Request.Headers.Authorization.ToString() != $"Bearer {AgentToken}")
                {
                    await Problem(401, "Unauthorized", "not an agent token").ExecuteAsync(http);
                }
                else
                {
                    await next(http);
                }
            }
            finally
            {
                Requests.Enqueue($"{http.Request.Method} {http.Request.Path} {http.Response.StatusCode} @{port}");
            }
        });

        _app.MapPost(AgentProtocol.Claim, async (HttpContext http) =>
        {
            var request = await http.Request.ReadFromJsonAsync<ClaimRequest>(JobJson.Options);
            var until = Stopwatch.StartNew();
            var wait = TimeSpan.FromSeconds(request!.WaitSeconds) < MaxClaimWait ? TimeSpan.FromSeconds(request.WaitSeconds) : MaxClaimWait;
            while (true)
            {
                lock (_gate)
                {
                    if (_jobs.FirstOrDefault(j => j.Job.Status == JobStatus.Queued) is { } job)
                    {
                        job.Token = ++_lastToken;
                        job.Job = job.Job with { Status = JobStatus.Linting, Attempts = job.Job.Attempts + 1, Agent = request.Agent, StartedAt = TimeProvider.System.GetUtcNow() };
                        job.Claims++;
                        return Results.Json(new ClaimResponse(job.Job, job.Token.Value, TimeProvider.System.GetUtcNow().AddSeconds(LeaseSeconds), LeaseSeconds, job.Dockerfile, ReconnectGraceSeconds),
                            JobJson.Options);
                    }
                }
                if (until.Elapsed >= wait)
                {
                    return Results.NoContent();
                }
                await Task.Delay(50, http.RequestAborted);
            }
        });

        _app.MapGet(AgentProtocol.Context("{id}"), (string id, HttpContext http) =>
            WithLease(id, LeaseOf(http), job => Results.Bytes(job.Context, "application/x-tar")));

        _app.MapPost(AgentProtocol.Heartbeat("{id}"), async (string id, HttpContext http) =>
        {
            var request = (await http.Request.ReadFromJsonAsync<HeartbeatRequest>(JobJson.Options))!;
            return WithLease(id, request.LeaseToken, job =>
            {
                job.Heartbeats.Enqueue(request.Job);
                if (request.Job is { } progress)
                {
                    job.Job = progress;
                }
                return Results.Json(new HeartbeatResponse(job.CancelRequested, TimeProvider.System.GetUtcNow().AddSeconds(LeaseSeconds)), JobJson.Options);
            });
        });

        _app.MapPut(AgentProtocol.Prefix + "/jobs/{id}/logs/{name}", async (string id, string name, long offset, HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            var data = body.ToArray();
            if (data.Length > 1024 * 1024)
            {
                return Problem(413, "Too large", "a log chunk is at most 1 MiB");
            }
            if (!AgentProtocol.TryParseLog(name, out var log))
            {
                return Problem(404, "Not found", $"no log {name}");
            }
            return WithLease(id, LeaseOf(http), job =>
            {
                var stored = job.Logs[log];
                if (offset > stored.Count)
                {
                    job.Gaps++;
                    return Problem(422, "Gap", $"offset {offset} is past the log's end {stored.Count}");
                }
                var skip = (int)(stored.Count - offset);
                var room = LogCapBytes is { } cap ? Math.Max(0, cap - stored.Count) : int.MaxValue;
                if (data.Length > skip)
                {
                    stored.AddRange(data[skip..].Take(room));
                }
                job.Appends.Enqueue((log, offset, data.Length));
                return Results.Json(new LogAppendResponse(stored.Count), JobJson.Options);
            });
        });

        _app.MapPut(AgentProtocol.Prefix + "/jobs/{id}/files/{name}", async (string id, string name, HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            return !AgentProtocol.TryParseFile(name, out var file)
                ? Problem(404, "Not found", $"no file {name}")
                : WithLease(id, LeaseOf(http), job =>
                {
                    job.Files[file] = body.ToArray();
                    return Results.NoContent();
                });
        });

        _app.MapPost(AgentProtocol.Result("{id}"), async (string id, HttpContext http) =>
        {
            var request = (await http.Request.ReadFromJsonAsync<ResultRequest>(JobJson.Options))!;
            lock (_gate)
            {
                if (_jobs.SingleOrDefault(j => j.Job.Id == id) is { } done && done.ResultToken == request.LeaseToken)
                {
                    return Results.NoContent(); // written already with this token: a retry
                }
            }
            return WithLease(id, request.LeaseToken, job =>
            {
                job.Job = request.Job;
                job.ResultToken = request.LeaseToken;
                job.Results.Enqueue(request.Job);
                return Results.NoContent();
            });
        });

        _app.MapPost(AgentProtocol.Release("{id}"), async (string id, HttpContext http) =>
        {
            var request = (await http.Request.ReadFromJsonAsync<ReleaseRequest>(JobJson.Options))!;
            return WithLease(id, request.LeaseToken, job =>
            {
                job.Job = job.Job with { Status = JobStatus.Queued, Attempts = job.Job.Attempts - 1, Agent = null, StartedAt = null };
                job.Token = null;
                job.Releases++;
                return Results.NoContent();
            });
        });
    }

    private static long LeaseOf(HttpContext http) =>
        long.TryParse(http.Request.Headers[AgentProtocol.LeaseHeader].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var token) ? token : -1;

    /// <summary>Runs <paramref name="write"/> when <paramref name="token"/> is the current lease of an active job; 409 otherwise.</summary>
    private IResult WithLease(string id, long token, Func<FakeJob, IResult> write)
    {
        lock (_gate)
        {
            if (_jobs.SingleOrDefault(j => j.Job.Id == id) is not { } job)
            {
                return Problem(404, "Job not found", $"no job {id}");
            }
            if (job.Token != token || !job.Job.Status.IsActive())
            {
                job.StaleWrites++;
                return Problem(409, "Lease lost", "the lease token is not the job's current one");
            }
            return write(job);
        }
    }

    private static IResult Problem(int status, string title, string detail) => Results.Problem(detail, statusCode: status, title: title);
}

/// <summary>One job as the fake API holds it, with everything the agent sent for it.</summary>
internal sealed class FakeJob(Job job, string dockerfile, byte[] context, Lock gate)
{
    public Job Job { get; set; } = job;

    public string Id => Job.Id;

    public string Dockerfile => dockerfile;

    public byte[] Context => context;

    public long? Token { get; set; }

    public long? ResultToken { get; set; }

    public bool CancelRequested { get; set; }

    public int Claims { get; set; }

    public int Releases { get; set; }

    public int Gaps { get; set; }

    public int StaleWrites { get; set; }

    public Dictionary<JobLog, List<byte>> Logs { get; } = new() { [JobLog.Build] = [], [JobLog.Run] = [] };

    /// <summary>Every chunk taken, as (log, offset, length), in order.</summary>
    public ConcurrentQueue<(JobLog Log, long Offset, int Length)> Appends { get; } = new();

    public Dictionary<JobFile, byte[]> Files { get; } = [];

    /// <summary>The progress each heartbeat carried (null for a bare lease extension).</summary>
    public ConcurrentQueue<Job?> Heartbeats { get; } = new();

    /// <summary>Every result written (the protocol writes one).</summary>
    public ConcurrentQueue<Job> Results { get; } = new();

    public byte[] LogBytes(JobLog log)
    {
        lock (gate)
        {
            return Logs[log].ToArray();
        }
    }

    public string LogText(JobLog log) => System.Text.Encoding.UTF8.GetString(LogBytes(log));

    public byte[]? FileOf(JobFile file)
    {
        lock (gate)
        {
            return Files.GetValueOrDefault(file);
        }
    }
}
