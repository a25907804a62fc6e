using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.Server.Jobs;
using Berth.Server.Tests.Api;
using Berth.Server.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.Tests.Webhooks;

/// <summary>
/// Webhooks end to end: Berth's own Program on a real Kestrel with a real SQLite store (no engine, no worker: a job is
/// finished by saving it through the store), delivering to a real loopback receiver allowed by its IP literal.
/// </summary>
public sealed class WebhookApiTests : IAsyncLifetime
{
    private const string Secret = "end-to-end-secret-0123";
    private LoopbackReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await LoopbackReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    private Dictionary<string, string> Settings(int initialBackoff = 1) => new()
    {
        ["Webhooks:AllowedHosts:0"] = $"127.0.0.1:{_receiver.Port}",
        ["Webhooks:Secret"] = Secret,
        ["Webhooks:InitialBackoffSeconds"] = initialBackoff.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Webhooks:MaxBackoffSeconds"] = "2",
        ["Webhooks:PollSeconds"] = "1",
    };

    private string CallbackUrl => $"http://127.0.0.1:{_receiver.Port}/hooks/berth?token=receiver-token";

    private static async Task<JsonElement> SubmitAsync(HttpClient client, object body, HttpStatusCode expected = HttpStatusCode.Accepted)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/jobs", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>Saves the job finished, as a worker or an agent's result would.</summary>
    private static async Task FinishAsync(BerthApiFactory berth, string id)
    {
        var store = berth.Services.GetRequiredService<IJobStore>();
        var job = (await store.GetAsync(id, default))!;
        await store.SaveAsync(job with { Status = JobStatus.Succeeded, StartedAt = job.CreatedAt, FinishedAt = job.CreatedAt.AddSeconds(3), Performance = 7.5 }, default);
    }

    private static async Task<JsonElement> WaitForWebhookAsync(HttpClient client, string id, Func<JsonElement, bool> done)
    {
        for (var i = 0; i < 300; i++)
        {
            var view = await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{id}");
            if (done(view.GetProperty("webhook")))
            {
                return view;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"job {id}'s webhook did not reach the expected state within 30 s");
        return default;
    }

    [Fact]
    public async Task Submit_WithCallbackUrl_FailsTwiceThenDeliversTheSignedViewAndTheJobShowsIt()
    {
        _receiver.Answer = n => n <= 2 ? 500 : 200;
        using var berth = new BerthApiFactory(Settings());
        using var client = berth.CreateClient();

        var accepted = await SubmitAsync(client, new { dockerfile = "FROM busybox:latest\n", name = "hooked", callbackUrl = CallbackUrl });
        var id = accepted.GetProperty("id").GetString()!;
        Assert.Equal("pending", accepted.GetProperty("webhook").GetProperty("state").GetString());
        Assert.Equal(0, accepted.GetProperty("webhook").GetProperty("attempts").GetInt32());
        Assert.DoesNotContain("receiver-token", accepted.GetRawText(), StringComparison.Ordinal);
        Assert.Empty(_receiver.Received); // nothing is sent before the job ends

        await FinishAsync(berth, id);
        await _receiver.WaitForAsync(3);
        var view = await WaitForWebhookAsync(client, id, w => w.GetProperty("state").GetString() != "pending");

        var hooks = _receiver.Received;
        Assert.Equal(3, hooks.Count);
        Assert.Single(hooks.Select(h => h.Headers["X-Berth-Delivery"]).Distinct());
        Assert.All(hooks, h =>
        {
            Assert.Equal("/hooks/berth?token=receiver-token", h.Path);
            Assert.Equal("application/json", h.Headers["Content-Type"]);
            Assert.True(WebhookSignature.Verify(h.Body, Secret, h.Headers["X-Berth-Signature"]));
            var sent = JsonDocument.Parse(h.Body).RootElement;
            Assert.Equal(id, sent.GetProperty("id").GetString());
            Assert.Equal("succeeded", sent.GetProperty("status").GetString());
        });
        var webhook = view.GetProperty("webhook");
        Assert.Equal("delivered", webhook.GetProperty("state").GetString());
        Assert.Equal(3, webhook.GetProperty("attempts").GetInt32());
        Assert.Equal(200, webhook.GetProperty("lastStatus").GetInt32());
        Assert.True(webhook.GetProperty("deliveredAt").GetDateTimeOffset() >= view.GetProperty("finishedAt").GetDateTimeOffset());
        Assert.DoesNotContain("receiver-token", view.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispatch_BerthRestartsBetweenAttempts_TheNewServerStillDelivers()
    {
        _receiver.Answer = n => n == 1 ? 503 : 200;
        var dataRoot = Directory.CreateTempSubdirectory("berth-api-restart-").FullName;
        try
        {
            string id;
            string deliveryId;
            using (var first = new BerthApiFactory(Settings(initialBackoff: 2), dataRoot))
            using (var client = first.CreateClient())
            {
                id = (await SubmitAsync(client, new { dockerfile = "FROM busybox:latest\n", callbackUrl = CallbackUrl })).GetProperty("id").GetString()!;
                await FinishAsync(first, id);
                await _receiver.WaitForAsync(1);
                await WaitForWebhookAsync(client, id, w => w.GetProperty("lastStatus").ValueKind == JsonValueKind.Number); // the 503 is recorded
                deliveryId = _receiver.Received[0].Headers["X-Berth-Delivery"];
            } // stopped before its next attempt

            using var second = new BerthApiFactory(Settings(initialBackoff: 2), dataRoot);
            using var restarted = second.CreateClient();
            var view = await WaitForWebhookAsync(restarted, id, w => w.GetProperty("state").GetString() == "delivered");

            Assert.Equal(2, view.GetProperty("webhook").GetProperty("attempts").GetInt32());
            Assert.Equal(2, _receiver.Received.Count);
            Assert.Equal(deliveryId, _receiver.Received[1].Headers["X-Berth-Delivery"]);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataRoot, recursive: true);
        }
    }

    [Fact]
    public async Task Submit_CallbackUrlWithNoAllowedHosts_Is400NamingTheSetting()
    {
        using var berth = new BerthApiFactory();
        using var client = berth.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/v1/jobs", new { dockerfile = "FROM busybox:latest\n", callbackUrl = CallbackUrl });

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("callbackUrl", problem.GetProperty("field").GetString());
        Assert.Contains("Webhooks:AllowedHosts", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/v1/jobs")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Submit_CallbackUrlToAHostNotAllowed_Is400AndAJobWithoutOneHasNoWebhook()
    {
        using var berth = new BerthApiFactory(Settings());
        using var client = berth.CreateClient();

        using var refused = await client.PostAsJsonAsync("/api/v1/jobs", new { dockerfile = "FROM busybox:latest\n", callbackUrl = "http://169.254.169.254/latest/meta-data" });
        var problem = await ProblemAsync(refused, HttpStatusCode.BadRequest);
        var plain = await SubmitAsync(client, new { dockerfile = "FROM busybox:latest\n" });

        Assert.Equal("callbackUrl", problem.GetProperty("field").GetString());
        Assert.Contains("Webhooks:AllowedHosts", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("webhook").ValueKind);
    }

    [Fact]
    public async Task Submit_MultipartCallbackUrl_IsCheckedAndKept()
    {
        using var berth = new BerthApiFactory(Settings());
        using var client = berth.CreateClient();
        using var form = new MultipartFormDataContent
        {
            { new StringContent("FROM busybox:latest\n"), "dockerfile" },
            { new StringContent(CallbackUrl), "callbackUrl" },
        };

        using var response = await client.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), form);
        var view = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("pending", view.GetProperty("webhook").GetProperty("state").GetString());
    }

    [Fact]
    public void Start_AllowedHostsWithoutSecret_FailsAtStartUpNamingTheSetting()
    {
        using var berth = new BerthApiFactory(new Dictionary<string, string> { ["Webhooks:AllowedHosts:0"] = "hooks.example.com" });

        var failure = Assert.ThrowsAny<Exception>(() => berth.CreateClient());

        Assert.Contains("Webhooks:Secret", failure.ToString(), StringComparison.Ordinal);
    }
}
