using System.Net;
using System.Net.Http.Json;
using System.Text;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.Tests.Api;

/// <summary>API keys, owners, the admin role and per-owner rate limits, in-process (a queued job is enough: none runs).</summary>
public sealed class AuthTests
{
    private const string Dockerfile = "FROM busybox:latest\nBOGUS\n"; // stays queued here: this server runs no job

    private static readonly Dictionary<string, string> Keys = TestKeys.Settings();

    private static HttpClient As(BerthApiFactory server, string key) => TestKeys.As(server, key);

    [Fact]
    public async Task Keys_OwnersSeeOnlyTheirJobs_AdminSeesAll_NoKeyIs401()
    {
        await using var server = new BerthApiFactory(Keys);
        using var anonymousClient = server.CreateClient();
        using var alice = As(server, "alice-key");
        using var bob = As(server, "bob-key");
        using var ops = As(server, "ops-key");
        using var wrong = As(server, "guess");

        var job = await new BerthApi(alice).SubmitTextAsync(Dockerfile);
        Assert.Equal("alice", job.Owner);

        using (var anonymous = await anonymousClient.GetAsync(new Uri("/api/v1/jobs", UriKind.Relative)))
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
        Assert.Equal(job.Id, (await new BerthApi(ops).GetAsync(job.Id)).Id);

        using var health = await anonymousClient.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task RateLimit_PerOwner_429WithRetryAfter()
    {
        await using var server = new BerthApiFactory(new Dictionary<string, string>(Keys) { ["Auth:SubmitsPerMinute"] = "2" });
        using var alice = As(server, "alice-key");
        using var bob = As(server, "bob-key");

        await new BerthApi(alice).SubmitTextAsync(Dockerfile);
        await new BerthApi(alice).SubmitTextAsync(Dockerfile);
        using (var third = await alice.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), new StringContent(Dockerfile, Encoding.UTF8, "text/plain")))
        {
            var problem = await ProblemAsync(third, (HttpStatusCode)429);
            Assert.Contains("alice", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.True(third.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        }
        await new BerthApi(bob).SubmitTextAsync(Dockerfile); // bob has his own bucket
    }
}
