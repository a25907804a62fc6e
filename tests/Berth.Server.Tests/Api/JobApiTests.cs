using System.Formats.Tar;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Tests.Contexts;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.Tests.Api;

/// <summary>The HTTP contract in-process, no engine: every bad input gets a 4xx ProblemDetails, never a 500; queued jobs are read, listed, canceled and deleted.</summary>
[Collection(ContractCollection.Name)]
public sealed class JobApiTests(ContractServer server) : IDisposable
{
    private readonly HttpClient _client = server.CreateClient();

    private BerthApi Api => new(_client);

    private static Uri Jobs => new("/api/v1/jobs", UriKind.Relative);

    public void Dispose() => _client.Dispose();

    private Task<HttpResponseMessage> PostTextAsync(string text, string type = "text/plain") =>
        _client.PostAsync(Jobs, new StringContent(text, Encoding.UTF8, type));

    private static MemoryStream Tar(params TarEntry[] entries) => RawTar.Of(entries);

    private async Task<JsonElement> PostContextAsync(Stream archive, HttpStatusCode expected)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("FROM busybox:latest\nCMD [\"true\"]\n"), "dockerfile" },
            { new StreamContent(archive), "context", "context.tar" },
        };
        using var response = await _client.PostAsync(Jobs, form);
        return await ProblemAsync(response, expected);
    }

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpStatusCode expected)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(method, path));
        return await ProblemAsync(response, expected);
    }

    [Fact]
    public async Task Submit_EmptyDockerfile_Is400()
    {
        using var response = await PostTextAsync("  \n");
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("empty", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_DockerfileOverOneMiB_Is422()
    {
        using var response = await PostTextAsync("FROM busybox:latest\n" + new string('#', 1024 * 1024));
        var problem = await ProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("1 MiB", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"dockerfile\": ")]
    [InlineData("[1, 2]")]
    [InlineData("{\"dockerfile\": 42}")]
    [InlineData("{\"dockerfile\": \"FROM a:1\", \"limits\": {\"memoryMb\": \"lots\"}}")]
    [InlineData("null")]
    public async Task Submit_BadJson_Is400(string json)
    {
        using var response = await PostTextAsync(json, "application/json");
        await ProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Submit_JsonWithoutDockerfile_Is400NamingTheField()
    {
        using var response = await PostTextAsync("{\"name\": \"x\"}", "application/json");
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("dockerfile", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Submit_UnsupportedContentType_Is415()
    {
        using var response = await PostTextAsync("<job/>", "application/xml");
        await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Theory]
    [InlineData("memoryMb", 4096, "maximum of 1024")]
    [InlineData("timeoutSeconds", 100000, "maximum of 120")]
    [InlineData("cpus", 64, "maximum of 2")]
    [InlineData("dataMb", 100000, "maximum of 256")]
    public async Task Submit_LimitAboveTheServerMaximum_Is422NamingTheMaximum(string field, double value, string message)
    {
        using var response = await _client.PostAsJsonAsync(Jobs, new { dockerfile = "FROM busybox:latest\n", limits = new Dictionary<string, double> { [field] = value } });
        var problem = await ProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Contains(message, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal($"limits.{field}", problem.GetProperty("field").GetString());
        Assert.Equal("Invalid job", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Submit_UnreadableArchive_Is400() =>
        await PostContextAsync(new MemoryStream(Encoding.UTF8.GetBytes("this is not a tar archive at all, just text.")), HttpStatusCode.BadRequest);

    [Fact]
    public async Task Submit_ArchiveWithAbsolutePath_Is422()
    {
        var problem = await PostContextAsync(Tar(new PaxTarEntry(TarEntryType.RegularFile, "/etc/cron.d/x") { DataStream = new MemoryStream([1]) }), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("absolute path", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_ArchiveWithDotDot_Is422() =>
        await PostContextAsync(Tar(new PaxTarEntry(TarEntryType.RegularFile, "a/../../x") { DataStream = new MemoryStream([1]) }), HttpStatusCode.UnprocessableEntity);

    [Fact]
    public async Task Submit_ArchiveWithLinkOutside_Is422()
    {
        var problem = await PostContextAsync(Tar(new PaxTarEntry(TarEntryType.SymbolicLink, "shadow") { LinkName = "../../../etc/shadow" }), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("outside the context", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_ArchiveWithDevice_Is422() =>
        await PostContextAsync(Tar(new PaxTarEntry(TarEntryType.CharacterDevice, "null") { DeviceMajor = 1, DeviceMinor = 3 }), HttpStatusCode.UnprocessableEntity);

    [Fact]
    public async Task Submit_ContextOverTheLimit_Is413()
    {
        var big = new byte[3 * 1024 * 1024];
        Random.Shared.NextBytes(big);
        var problem = await PostContextAsync(Tar(new PaxTarEntry(TarEntryType.RegularFile, "big.bin") { DataStream = new MemoryStream(big) }), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("MiB", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("Too large", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Submit_RandomJsonShapes_NeverGet500()
    {
        var random = new Random(99);
        object? Value(int depth) => random.Next(depth > 3 ? 4 : 7) switch
        {
            0 => null,
            1 => random.Next(-5, 1_000_000),
            2 => random.NextDouble() * 1e12,
            3 => new string((char)random.Next(32, 0x2FFF), random.Next(0, 50)),
            4 => random.Next(2) == 0,
            5 => Enumerable.Range(0, random.Next(4)).Select(_ => Value(depth + 1)).ToArray(),
            _ => Enumerable.Range(0, random.Next(4)).Select(i => new[] { "dockerfile", "name", "limits", "timeoutSeconds", "memoryMb", "cpus", "dataMb", "x" }[random.Next(8)]).Distinct().ToDictionary(k => k, _ => Value(depth + 1)),
        };
        for (var i = 0; i < 60; i++)
        {
            var body = JsonSerializer.Serialize(new Dictionary<string, object?> { ["dockerfile"] = i % 3 == 0 ? "FROM busybox:latest\nBOGUS\n" : Value(0), ["name"] = Value(2), ["limits"] = Value(1) });
            using var response = await PostTextAsync(body, "application/json");
            Assert.True((int)response.StatusCode is >= 400 and < 500 or 202, $"{(int)response.StatusCode} for {body}");
        }
    }

    [Fact]
    public async Task Submit_MutatedArchives_NeverGet500()
    {
        var random = new Random(7);
        var valid = TarGz(("a.txt", "hello"), ("dir/b.sh", "echo hi")).ToArray();
        for (var i = 0; i < 40; i++)
        {
            var bytes = (byte[])valid.Clone();
            for (var flips = random.Next(1, 8); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            using var form = new MultipartFormDataContent
            {
                { new StringContent("FROM busybox:latest\nBOGUS\n"), "dockerfile" },
                { new ByteArrayContent(bytes), "context", "context.tar.gz" },
            };
            using var response = await _client.PostAsync(Jobs, form);
            Assert.True((int)response.StatusCode is >= 400 and < 500 or 202, $"{(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task Submit_DecompressionBomb_Is413()
    {
        var gz = new MemoryStream();
        using (var zip = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
        {
            Tar(new PaxTarEntry(TarEntryType.RegularFile, "zeros") { DataStream = new MemoryStream(new byte[1900 * 1024]) }).CopyTo(zip);
        }
        gz.Position = 0;
        var problem = await PostContextAsync(gz, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("decompression bomb", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_QueueFull_Is503WithRetryAfterAndNothingStored()
    {
        await using var full = new BerthApiFactory(new Dictionary<string, string> { ["Berth:QueueCap"] = "1" });
        using var client = full.CreateClient();
        var queued = await new BerthApi(client).SubmitTextAsync("FROM busybox:latest\n");

        using var refused = await client.PostAsync(Jobs, new StringContent("FROM busybox:latest\n", Encoding.UTF8, "text/plain"));

        var problem = await ProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Queue full", problem.GetProperty("title").GetString());
        Assert.Contains("Berth:QueueCap", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        Assert.Equal([queued.Id], Directory.EnumerateDirectories(Path.Combine(full.DataRoot, "jobs")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task UnknownJob_Is404Everywhere()
    {
        const string id = "0123456789abcdef0123456789abcdef";
        foreach (var (method, path) in new[] { ("GET", $"/api/v1/jobs/{id}"), ("GET", $"/api/v1/jobs/{id}/logs"), ("POST", $"/api/v1/jobs/{id}/cancel"), ("DELETE", $"/api/v1/jobs/{id}"), ("GET", "/api/v1/jobs/not-an-id") })
        {
            await SendAsync(new HttpMethod(method), path, HttpStatusCode.NotFound);
        }
    }

    [Fact]
    public async Task QueuedJob_IsReadable_DeleteIs409_CancelThenDeleteRemovesItAndItsFiles()
    {
        var job = await Api.SubmitAsync("FROM busybox:latest\n", name: "queued one");
        Assert.Equal((JobStatus.Queued, "queued one", Job.LocalOwner), (job.Status, job.Name, job.Owner));
        Assert.Equal(JobStatus.Queued, (await Api.GetAsync(job.Id)).Status);
        Assert.Equal("==> build log <==\n\n==> run log <==\n", await Api.LogsAsync(job.Id));
        var noReport = await SendAsync(HttpMethod.Get, $"/api/v1/jobs/{job.Id}/report?format=sarif", HttpStatusCode.NotFound);
        Assert.Contains("the job is queued and its image was not scanned", noReport.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await SendAsync(HttpMethod.Get, $"/api/v1/jobs/{job.Id}/sbom", HttpStatusCode.NotFound);

        var conflict = await SendAsync(HttpMethod.Delete, $"/api/v1/jobs/{job.Id}", HttpStatusCode.Conflict);
        Assert.Equal("Conflict", conflict.GetProperty("title").GetString());

        using (var cancel = await _client.PostAsync(new Uri($"/api/v1/jobs/{job.Id}/cancel", UriKind.Relative), null))
        {
            Assert.Equal(JobStatus.Canceled, (await AcceptedAsync(cancel)).Status);
        }
        var again = await SendAsync(HttpMethod.Post, $"/api/v1/jobs/{job.Id}/cancel", HttpStatusCode.Conflict);
        Assert.Contains("already finished (canceled)", again.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var deleted = await _client.DeleteAsync(new Uri($"/api/v1/jobs/{job.Id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(server.DataRoot, "jobs", job.Id)));
        await SendAsync(HttpMethod.Get, $"/api/v1/jobs/{job.Id}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task List_PagesNewestFirstAndFilters()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await Api.SubmitAsync("FROM busybox:latest\nBOGUS\n")).Id);
        }

        var first = await _client.GetFromJsonAsync<JobPage>("/api/v1/jobs?status=queued&limit=2", JobJson.Options);
        Assert.Equal([ids[2], ids[1]], first!.Items.Select(j => j.Id));
        Assert.Equal(ids[1], first.Next);
        var second = await _client.GetFromJsonAsync<JobPage>($"/api/v1/jobs?status=queued&limit=2&after={first.Next}", JobJson.Options);
        Assert.Equal(ids[0], second!.Items[0].Id);
        Assert.All(second.Items, j => Assert.Equal(JobStatus.Queued, j.Status));

        using (await _client.PostAsync(new Uri($"/api/v1/jobs/{ids[1]}/cancel", UriKind.Relative), null)) { }
        var canceled = await _client.GetFromJsonAsync<JobPage>("/api/v1/jobs?status=canceled&limit=1", JobJson.Options);
        Assert.Equal([ids[1]], canceled!.Items.Select(j => j.Id));
        Assert.DoesNotContain(ids[1], (await _client.GetFromJsonAsync<JobPage>("/api/v1/jobs?status=queued&limit=100", JobJson.Options))!.Items.Select(j => j.Id));

        foreach (var bad in new[] { "status=sleeping", "limit=0", "limit=1000", "after=0123456789abcdef0123456789abcdef" })
        {
            var problem = await SendAsync(HttpMethod.Get, $"/api/v1/jobs?{bad}", HttpStatusCode.BadRequest);
            Assert.Equal("Invalid query", problem.GetProperty("title").GetString());
        }
    }

    [Fact]
    public async Task CorrelationId_IsEchoedAndGeneratedWhenMissing()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.Add("X-Correlation-Id", "client-req-42");
        using var echoed = await _client.SendAsync(request);
        Assert.Equal("client-req-42", echoed.Headers.GetValues("X-Correlation-Id").Single());

        using var generated = await _client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Matches("^[0-9a-f]{32}$", generated.Headers.GetValues("X-Correlation-Id").Single());
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/docs")]
    public async Task ServiceEndpoints_Answer200(string path)
    {
        using var response = await _client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>An API-only server (agents, or another process, run the jobs) needs no engine and no advisory database to be ready.</summary>
    [Fact]
    public async Task Readyz_ApiOnlyWithoutAnEngine_IsReadyCheckingOnlyStoreAndDataRoot()
    {
        using var response = await _client.GetAsync(new Uri("/readyz", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"ready\"", body, StringComparison.Ordinal);
    }
}
