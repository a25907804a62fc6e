using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Auth;

/// <summary>API keys, owners, the admin role, per-owner rate limits, and the loopback rule without keys.</summary>
[Collection(BerthCollection.Name)]
public sealed class AuthTests
{
    private const string Failing = "FROM busybox:latest\nBOGUS\n"; // lint-rejected at once: no build, no container

    private static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key))).ToLowerInvariant();

    private static readonly Dictionary<string, string> Keys = new()
    {
        ["Auth:Keys:0:Owner"] = "alice", ["Auth:Keys:0:Role"] = "user", ["Auth:Keys:0:Sha256"] = Hash("alice-key"),
        ["Auth:Keys:1:Owner"] = "bob", ["Auth:Keys:1:Role"] = "user", ["Auth:Keys:1:Sha256"] = Hash("bob-key"),
        ["Auth:Keys:2:Owner"] = "ops", ["Auth:Keys:2:Role"] = "admin", ["Auth:Keys:2:Sha256"] = Hash("ops-key"),
    };

    private static HttpClient As(BerthProcess server, string key)
    {
        var client = new HttpClient { BaseAddress = server.Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    [Fact]
    public async Task Keys_OwnersSeeOnlyTheirJobs_AdminSeesAll_NoKeyIs401()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("auth"), Keys);
        using var alice = As(server, "alice-key");
        using var bob = As(server, "bob-key");
        using var ops = As(server, "ops-key");
        using var wrong = As(server, "guess");

        var job = await new BerthApi(alice).SubmitTextAsync(Failing);
        Assert.Equal("alice", job.Owner);

        using (var anonymous = await server.Client.GetAsync(new Uri("/api/v1/jobs", UriKind.Relative)))
        {
            await ProblemAsync(anonymous, HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        }
        using (var refused = await wrong.GetAsync(new Uri($"/api/v1/jobs/{job.Id}", UriKind.Relative)))
        {
            await ProblemAsync(refused, HttpStatusCode.Unauthorized);
        }
        foreach (var (method, path) in new[] { ("GET", $"/api/v1/jobs/{job.Id}"), ("GET", $"/api/v1/jobs/{job.Id}/logs"), ("GET", $"/api/v1/jobs/{job.Id}/report"), ("POST", $"/api/v1/jobs/{job.Id}/cancel"), ("DELETE", $"/api/v1/jobs/{job.Id}") })
        {
            using var response = await bob.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            await ProblemAsync(response, HttpStatusCode.NotFound); // another owner's job does not exist for bob
        }
        Assert.Empty((await bob.GetFromJsonAsync<JobPage>("/api/v1/jobs", JobJson.Options))!.Items);
        Assert.Equal(job.Id, (await alice.GetFromJsonAsync<JobPage>("/api/v1/jobs", JobJson.Options))!.Items.Single().Id);
        Assert.Contains(job.Id, (await ops.GetFromJsonAsync<JobPage>("/api/v1/jobs", JobJson.Options))!.Items.Select(j => j.Id));
        Assert.Equal(job.Id, (await new BerthApi(ops).WaitTerminalAsync(job.Id)).Id);

        using var health = await server.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task RateLimit_PerOwner_429WithRetryAfter()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("rate"), new Dictionary<string, string>(Keys) { ["Auth:SubmitsPerMinute"] = "2" });
        using var alice = As(server, "alice-key");
        using var bob = As(server, "bob-key");

        await new BerthApi(alice).SubmitTextAsync(Failing);
        await new BerthApi(alice).SubmitTextAsync(Failing);
        using (var third = await alice.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), new StringContent(Failing, Encoding.UTF8, "text/plain")))
        {
            var problem = await ProblemAsync(third, (HttpStatusCode)429);
            Assert.Contains("alice", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.True(third.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        }
        await new BerthApi(bob).SubmitTextAsync(Failing); // bob has his own bucket
    }

    [Fact]
    public async Task NoKeys_ListeningBeyondLoopback_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BerthProcess.StartAsync(TempRoot.Create("open"), new Dictionary<string, string>(), host: "0.0.0.0"));
        Assert.Contains("no API keys are configured (Auth:Keys), so Berth only listens on loopback", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoKeys_KestrelEndpointBeyondLoopback_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => BerthProcess.StartAsync(TempRoot.Create("open2"),
            new Dictionary<string, string> { ["Kestrel:Endpoints:Open:Url"] = "http://0.0.0.0:18099" }));
        Assert.Contains("listens on loopback, but it was asked to listen on http://0.0.0.0:18099", error.Message, StringComparison.Ordinal);
    }

    /// <summary>URLs that read as loopback to a person but make Kestrel listen on every interface.</summary>
    [Theory]
    [InlineData("urls", "http://a@127.0.0.1:18098")]          // Kestrel's host: "a@127.0.0.1" → every interface
    [InlineData("urls", "http://127.0.0.1:18098#")]           // Kestrel's host: "127.0.0.1:18098#", port 80, every interface
    [InlineData("urls", "http://127.0.0.1:18098?x")]
    [InlineData("Kestrel:Endpoints:Trick:Url", "http://a@127.0.0.1:18098")]
    public async Task NoKeys_UrlThatKestrelReadsAsAnotherHost_RefusesToStart(string key, string url)
    {
        // --key=value comes after the --urls BerthProcess passes, so it wins.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BerthProcess.StartAsync(TempRoot.Create("trick"), new Dictionary<string, string> { [key] = url }));
        Assert.Contains($"so Berth only listens on loopback, but it was asked to listen on {url} (user info, a query, a fragment or a path is refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoKeys_UserInfoInUrlsArgument_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BerthProcess.StartAsync(TempRoot.Create("userinfo"), new Dictionary<string, string>(), host: "a@127.0.0.1"));
        Assert.Contains("but it was asked to listen on http://a@127.0.0.1:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotRoot_RefusesToStart()
    {
        var start = new System.Diagnostics.ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet", RepoPaths.Built("Berth.Server"),
                     "--urls", "http://127.0.0.1:0", $"--Berth:DataRoot={TempRoot.Create("nonroot")}" })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["HOME"] = "/tmp";
        start.Environment["DOTNET_CLI_HOME"] = "/tmp";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains("Berth must run as root", await output + await error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_BadHash_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BerthProcess.StartAsync(TempRoot.Create("badkey"), new Dictionary<string, string> { ["Auth:Keys:0:Owner"] = "x", ["Auth:Keys:0:Sha256"] = "plain-key" }));
        Assert.Contains("Auth:Keys:0:Sha256 must be the 64-hex-digit SHA-256", error.Message, StringComparison.Ordinal);
    }
}
