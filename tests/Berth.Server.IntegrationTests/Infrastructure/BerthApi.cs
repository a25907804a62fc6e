using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.Jobs;

namespace Berth.Server.IntegrationTests.Infrastructure;

/// <summary>Typed calls to Berth's HTTP API, as a client would make them.</summary>
public sealed class BerthApi(HttpClient client)
{
    public HttpClient Client => client;

    public async Task<JobView> SubmitAsync(string dockerfile, object? limits = null, string? name = null, bool? cache = null)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/jobs", new { dockerfile, name, limits, cache }, JobJson.Options);
        return await AcceptedAsync(response);
    }

    public async Task<JobView> SubmitTextAsync(string dockerfile)
    {
        using var response = await client.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), new StringContent(dockerfile, Encoding.UTF8, "text/plain"));
        return await AcceptedAsync(response);
    }

    public static async Task<JobView> AcceptedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"expected 202, got {(int)response.StatusCode}: {body}");
        var job = JsonSerializer.Deserialize<JobView>(body, JobJson.Options)!;
        Assert.Equal($"/api/v1/jobs/{job.Id}", response.Headers.Location?.OriginalString);
        return job;
    }

    public async Task<JobView> GetAsync(string id)
    {
        var body = await client.GetStringAsync(new Uri($"/api/v1/jobs/{id}", UriKind.Relative));
        return JsonSerializer.Deserialize<JobView>(body, JobJson.Options)!;
    }

    public Task<string> LogsAsync(string id) => client.GetStringAsync(new Uri($"/api/v1/jobs/{id}/logs", UriKind.Relative));

    /// <summary>Polls until the job is terminal.</summary>
    public Task<JobView> WaitTerminalAsync(string id, int seconds = 90) =>
        WaitAsync(id, j => j.Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Canceled, seconds);

    public async Task<JobView> WaitAsync(string id, Func<JobView, bool> done, int seconds = 90)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var job = await GetAsync(id);
            if (done(job))
            {
                return job;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                Assert.Fail($"job {id} did not reach the expected state in {seconds} s; it is {job.Status}");
            }
            await Task.Delay(50);
        }
    }

    public async Task<JobView> RunAsync(string dockerfile, object? limits = null, bool? cache = null) =>
        await WaitTerminalAsync((await SubmitAsync(dockerfile, limits, cache: cache)).Id);

    /// <summary>A Dockerfile whose job runs <paramref name="script"/> with busybox sh.</summary>
    public static string Busybox(string script, string instructions = "") =>
        $"FROM busybox:latest\n{instructions}CMD {JsonSerializer.Serialize(new[] { "sh", "-c", script })}\n";

    /// <summary>A uid from the jobs' pool (Sandbox:UidPoolStart 200000000, size 1000000): never root, never a host user.</summary>
    public static void AssertJobUid(double? uid) =>
        Assert.True(uid is >= 200_000_000 and < 201_000_000, $"{uid} is not a uid from the jobs' pool");

    public static MemoryStream TarGz(params (string Name, string Content)[] files) =>
        TarGzBytes(files.Select(f => (f.Name, Encoding.UTF8.GetBytes(f.Content))).ToArray());

    public static MemoryStream TarGzBytes(params (string Name, byte[] Content)[] files)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }
        tar.Position = 0;
        var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            tar.CopyTo(zip);
        }
        gz.Position = 0;
        return gz;
    }

    /// <summary>
    /// Waits up to <paramref name="seconds"/> for <paramref name="condition"/>: for what Berth does just after a job's
    /// final state is saved (its /data is released off the client's path).
    /// </summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, int seconds = 15)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                return false;
            }
            await Task.Delay(50);
        }
        return true;
    }

    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        return problem;
    }
}
