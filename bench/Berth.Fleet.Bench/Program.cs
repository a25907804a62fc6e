// Fleet coordination benchmark (bench/README.md): a real API server process on a throwaway PostgreSQL cluster, and
// protocol-level agents (HTTP clients speaking the agent protocol, no Docker) so that only the coordination is timed.
//   dotnet run -c Release --project bench/Berth.Fleet.Bench -- [--samples 200] [--jobs 1000] [--agents 3]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Berth.Tests.Shared;

if (args.Contains("--e2e"))
{
    return await EndToEnd.RunAsync(Arg("--e2e", 15));
}
var samples = Arg("--samples", 200);
var jobs = Arg("--jobs", 1000);
var agents = Arg("--agents", 3);

await using var cluster = await PostgresCluster.StartAsync();
var connection = await cluster.CreateDatabaseAsync();
var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
var port = EndToEnd.FreePort();
var dataRoot = Directory.CreateTempSubdirectory("berth-fleet-bench-").FullName;
using var server = StartServer(port, connection, token, dataRoot);
try
{
    using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
    await EndToEnd.WaitReadyAsync(http);
    var agent = new AgentClient(http, token);

    // 1. Submit to claim, with one idle agent already waiting in a long poll. Baseline: the submission's own round trip.
    var claimLatency = new List<double>();
    var submitLatency = new List<double>();
    var afterAnswer = new List<double>();
    for (var i = 0; i < samples + 10; i++)
    {
        var claim = agent.ClaimAsync("bench-idle", 30);
        await Task.Delay(30); // the poll is waiting before the job arrives
        var start = Stopwatch.GetTimestamp();
        await SubmitAsync(http);
        var submitted = Stopwatch.GetElapsedTime(start);
        var claimed = await claim ?? throw new InvalidOperationException("the waiting claim got no job");
        var latency = Stopwatch.GetElapsedTime(start);
        await agent.FinishAsync(claimed);
        if (i >= 10) // warm-up
        {
            claimLatency.Add(latency.TotalMilliseconds);
            submitLatency.Add(submitted.TotalMilliseconds);
            afterAnswer.Add(Math.Max(0, (latency - submitted).TotalMilliseconds));
        }
    }
    Console.WriteLine($"submit -> claim by an idle agent ({samples} samples): p50 {P(claimLatency, 50):F1} ms, p99 {P(claimLatency, 99):F1} ms " +
        $"(the submission's own round trip: p50 {P(submitLatency, 50):F1} ms, p99 {P(submitLatency, 99):F1} ms; " +
        $"claim after the submission was answered: p50 {P(afterAnswer, 50):F1} ms, p99 {P(afterAnswer, 99):F1} ms)");

    // 2. Drain: jobs queued first, then several agents claim and finish them as fast as they can.
    var ids = new List<string>();
    for (var i = 0; i < jobs; i++)
    {
        ids.Add(await SubmitAsync(http));
    }
    var claims = new System.Collections.Concurrent.ConcurrentBag<(string Agent, string Id, long Token)>();
    var drain = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, agents).Select(a => Task.Run(async () =>
    {
        var name = $"bench-agent-{a}";
        while (await agent.ClaimAsync(name, 0) is { } claimed)
        {
            claims.Add((name, claimed.Job.Id, claimed.LeaseToken));
            await agent.FinishAsync(claimed);
        }
    })));
    drain.Stop();
    var duplicates = claims.GroupBy(c => c.Id).Count(g => g.Count() > 1);
    var missing = ids.Except(claims.Select(c => c.Id)).Count();
    var tokens = claims.Select(c => c.Token).ToList();
    var terminal = 0;
    foreach (var id in ids)
    {
        var job = await http.GetFromJsonAsync<Dictionary<string, object>>($"/api/v1/jobs/{id}", JobJson.Options);
        terminal += job!["status"].ToString() == "canceled" ? 1 : 0;
    }
    Console.WriteLine($"drain {jobs} queued jobs with {agents} agents: {drain.Elapsed.TotalSeconds:F2} s ({jobs / drain.Elapsed.TotalSeconds:F0} jobs/s); " +
        $"claims {claims.Count}, duplicates {duplicates}, never claimed {missing}, terminal {terminal}/{jobs}, " +
        $"lease tokens distinct: {tokens.Distinct().Count() == tokens.Count}; per agent: " +
        string.Join(", ", claims.GroupBy(c => c.Agent).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}")));
    return duplicates == 0 && missing == 0 && terminal == jobs ? 0 : 1;
}
finally
{
    server.Kill(entireProcessTree: true);
    await server.WaitForExitAsync();
    Directory.Delete(dataRoot, recursive: true);
}

static async Task<string> SubmitAsync(HttpClient http)
{
    using var response = await http.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), new StringContent("FROM busybox\nCMD [\"true\"]\n", Encoding.UTF8, "text/plain"));
    response.EnsureSuccessStatusCode();
    var job = await response.Content.ReadFromJsonAsync<Dictionary<string, object>>(JobJson.Options);
    return job!["id"].ToString()!;
}

static Process StartServer(int port, string connection, string token, string dataRoot) => EndToEnd.Start(
[
    "--urls", $"http://127.0.0.1:{port}", $"--Berth:DataRoot={dataRoot}", "--Berth:Workers=0", "--Berth:QueueCap=100000",
    "--Store:Provider=postgres", $"--Store:ConnectionString={connection}", "--Auth:SubmitsPerMinute=100000",
    "--Agents:Tokens:0:Name=bench", $"--Agents:Tokens:0:Sha256={Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)))}",
    "--Logging:LogLevel:Default=Warning",
]);

static double P(List<double> values, int percentile)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>The agent side of the protocol, without running anything: claim, then report the job canceled.</summary>
internal sealed class AgentClient(HttpClient http, string token)
{
    public async Task<ClaimResponse?> ClaimAsync(string name, int waitSeconds)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, AgentProtocol.Claim) { Content = JsonContent.Create(new ClaimRequest(name, waitSeconds), options: JobJson.Options) };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return response.StatusCode == HttpStatusCode.NoContent ? null : await response.Content.ReadFromJsonAsync<ClaimResponse>(JobJson.Options);
    }

    public async Task FinishAsync(ClaimResponse claimed)
    {
        var done = claimed.Job with { Status = JobStatus.Canceled, FinishedAt = TimeProvider.System.GetUtcNow() };
        using var request = new HttpRequestMessage(HttpMethod.Post, AgentProtocol.Result(claimed.Job.Id))
        {
            Content = JsonContent.Create(new ResultRequest(claimed.LeaseToken, done), options: JobJson.Options),
        };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }
}
