using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Http;

/// <summary>
/// What a web page can make the operator's browser send to a Berth on loopback: DNS rebinding (a foreign Host),
/// and simple cross-site posts that need no CORS preflight (text/plain, multipart). Also what /readyz and the
/// logs give away.
/// </summary>
[Collection(BerthCollection.Name)]
public sealed class BrowserAttackTests(BerthFixture fixture)
{
    private const string Failing = "FROM busybox:latest\nBOGUS\n"; // lint-rejected at once: no build, no container

    private static HttpRequestMessage Post(string path, HttpContent content, string? origin = null, string? fetchSite = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }
        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }
        return request;
    }

    private static StringContent Text() => new(Failing, Encoding.UTF8, "text/plain");

    private static MultipartFormDataContent Form() => new() { { new StringContent(Failing), "dockerfile" } };

    private static async Task<List<string>> JobIdsAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JobPage>("/api/v1/jobs?limit=100", JobJson.Options))!.Items.Select(j => j.Id).ToList();

    [Theory]
    [InlineData("GET", "/api/v1/jobs", "evil.example")]
    [InlineData("GET", "/api/v1/jobs", "evil.example:80")]
    [InlineData("DELETE", "/api/v1/jobs/00000000000000000000000000000000", "evil.example")]
    [InlineData("GET", "/healthz", "localhost.")]
    [InlineData("GET", "/readyz", "127.0.0.1.nip.io")]
    public async Task Keyless_ForeignHost_Is421(string method, string path, string host)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Host = host;
        using var response = await fixture.Server.Client.SendAsync(request);

        var problem = await ProblemAsync(response, HttpStatusCode.MisdirectedRequest);
        Assert.Contains("Auth:Keys", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keyless_LocalhostHost_IsAnswered()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs?limit=1");
        request.Headers.Host = $"localhost:{fixture.Server.Port}";
        using var response = await fixture.Server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Keyless_CrossSiteSubmits_Are403AndCreateNoJob_SameOriginIsAccepted()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("xsite"), new Dictionary<string, string>());
        var self = $"http://127.0.0.1:{server.Port}";
        Assert.Empty(await JobIdsAsync(server.Client));

        var attempts = new Func<HttpRequestMessage>[]
        {
            () => Post("/api/v1/jobs", Text(), origin: "http://evil.example"),
            () => Post("/api/v1/jobs", Form(), origin: "http://evil.example"),
            () => Post("/api/v1/jobs", Text(), origin: "null"),                                         // sandboxed iframe, file://
            () => Post("/api/v1/jobs", Form(), origin: $"http://localhost:{server.Port + 1}"),          // another port: same site, other origin
            () => Post("/api/v1/jobs", Text(), fetchSite: "cross-site"),
            () => Post("/api/v1/jobs", Text(), fetchSite: "same-site"),
            () => Post("/api/v1/jobs", Text(), origin: $"https://127.0.0.1:{server.Port}"),            // other scheme
        };
        foreach (var attempt in attempts)
        {
            using var request = attempt();
            using var response = await server.Client.SendAsync(request);
            await ProblemAsync(response, HttpStatusCode.Forbidden);
        }
        Assert.Empty(await JobIdsAsync(server.Client));

        using (var request = Post("/api/v1/jobs", Text(), origin: self, fetchSite: "same-origin"))
        {
            using var response = await server.Client.SendAsync(request);
            var job = await AcceptedAsync(response);
            await new BerthApi(server.Client).WaitTerminalAsync(job.Id);
            Assert.Equal([job.Id], await JobIdsAsync(server.Client));
        }
    }

    [Fact]
    public async Task WithKeys_CrossSiteDeleteAndCancel_Are403EvenWithAValidKey()
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("alice-key"))).ToLowerInvariant();
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("xsitekeys"),
            new Dictionary<string, string> { ["Auth:Keys:0:Owner"] = "alice", ["Auth:Keys:0:Sha256"] = hash });
        using var alice = new HttpClient { BaseAddress = server.Client.BaseAddress };
        alice.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "alice-key");
        var job = await new BerthApi(alice).WaitTerminalAsync((await new BerthApi(alice).SubmitTextAsync(Failing)).Id);

        using (var delete = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/jobs/{job.Id}"))
        {
            delete.Headers.Add("Origin", "http://evil.example");
            using var response = await alice.SendAsync(delete);
            await ProblemAsync(response, HttpStatusCode.Forbidden);
        }
        using (var cancel = Post($"/api/v1/jobs/{job.Id}/cancel", new StringContent(""), fetchSite: "cross-site"))
        {
            using var response = await alice.SendAsync(cancel);
            await ProblemAsync(response, HttpStatusCode.Forbidden);
        }
        Assert.Equal(job.Id, (await new BerthApi(alice).GetAsync(job.Id)).Id); // still there

        using var foreignHost = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        foreignHost.Headers.Host = "berth.example.com"; // with keys Berth may sit behind any name
        using var health = await alice.SendAsync(foreignHost);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Readyz_NotReady_NamesReasonsOnly_DetailsGoToTheServerLog()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("ready"), new Dictionary<string, string>());
        var probe = Path.Combine(server.DataRoot, ".ready-probe");
        Directory.CreateDirectory(probe); // the data root's write probe now fails

        using (var response = await server.Client.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            var problem = await ProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(["data_root_unwritable"], problem.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
            Assert.DoesNotContain('/', problem.GetProperty("detail").GetString()!);
            foreach (var leak in new[] { server.DataRoot, ".ready-probe", "unix://", "docker.sock", "Exception" })
            {
                Assert.DoesNotContain(leak, body, StringComparison.Ordinal);
            }
        }
        Assert.Contains($"the data root {server.DataRoot} does not take writes", server.Log, StringComparison.Ordinal);

        Directory.Delete(probe);
        using var ready = await server.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Logs_AreTextWithNoSniff()
    {
        var job = await fixture.Api.WaitTerminalAsync((await fixture.Api.SubmitTextAsync(Failing)).Id);
        using var response = await fixture.Server.Client.GetAsync(new Uri($"/api/v1/jobs/{job.Id}/logs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        using var health = await fixture.Server.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal("nosniff", health.Headers.GetValues("X-Content-Type-Options").Single());
    }
}
