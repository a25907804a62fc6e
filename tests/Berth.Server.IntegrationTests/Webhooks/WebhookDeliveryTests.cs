using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Webhooks;

/// <summary>
/// A webhook of a job that really ran, to a receiver on loopback: the first attempt fails, Berth is killed (SIGKILL)
/// before the retry, and the restarted server still delivers, signed, with the same delivery id.
/// </summary>
[Collection(BerthCollection.Name)]
public sealed class WebhookDeliveryTests
{
    private const string Secret = "integration-test-webhook-secret";

    [Fact]
    public async Task Webhook_FailsThenBerthIsKilled_RestartedServerDeliversSignedWithTheSameDeliveryId()
    {
        var receiverPort = FreePort();
        using var receiver = new HttpListener();
        receiver.Prefixes.Add($"http://127.0.0.1:{receiverPort}/");
        receiver.Start();
        var deliveries = new ConcurrentQueue<(string Delivery, string Signature, byte[] Body)>();
        var answer = (int)HttpStatusCode.InternalServerError;
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await receiver.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return; // stopped
                }
                using var body = new MemoryStream();
                try
                {
                    await context.Request.InputStream.CopyToAsync(body);
                }
                catch (HttpListenerException)
                {
                    continue; // the sender died mid-request: not a delivery
                }
                deliveries.Enqueue((context.Request.Headers["X-Berth-Delivery"] ?? "", context.Request.Headers["X-Berth-Signature"] ?? "", body.ToArray()));
                context.Response.StatusCode = Volatile.Read(ref answer);
                context.Response.Close();
            }
        });

        var settings = new Dictionary<string, string>(BerthFixture.Settings)
        {
            ["Berth:Workers"] = "1",
            ["Webhooks:AllowedHosts:0"] = $"127.0.0.1:{receiverPort}",
            ["Webhooks:Secret"] = Secret,
            ["Webhooks:InitialBackoffSeconds"] = "10",
            ["Webhooks:PollSeconds"] = "1",
        };
        var root = TempRoot.Create("webhook");
        string id;
        await using (var first = await BerthProcess.StartAsync(root, settings))
        {
            var api = new BerthApi(first.Client);
            using (var refused = await first.Client.PostAsJsonAsync(new Uri("/api/v1/jobs", UriKind.Relative),
                       new { dockerfile = Busybox("true"), callbackUrl = "http://127.0.0.1:1/hook" }))
            {
                var problem = await ProblemAsync(refused, HttpStatusCode.BadRequest);
                Assert.Contains("Webhooks:AllowedHosts", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }
            using var submitted = await first.Client.PostAsJsonAsync(new Uri("/api/v1/jobs", UriKind.Relative),
                new { dockerfile = Busybox("echo '{\"perf\": 7}' > /data/perf.json"), callbackUrl = $"http://127.0.0.1:{receiverPort}/hook?token=abc" });
            id = (await AcceptedAsync(submitted)).Id;
            await api.WaitTerminalAsync(id);
            Assert.True(await EventuallyAsync(() => !deliveries.IsEmpty, 30), "no first attempt");
            await api.WaitAsync(id, j => j.Webhook?.LastStatus == 500, 30); // recorded: the retry is due 10 s later
            first.Kill(); // well before the retry
        }
        Volatile.Write(ref answer, (int)HttpStatusCode.OK);
        await using var second = await BerthProcess.StartAsync(root, settings);
        var view = await new BerthApi(second.Client).WaitAsync(id, j => j.Webhook?.DeliveredAt is not null, 60);
        stop.Cancel();
        receiver.Stop();
        await serving;

        var all = deliveries.ToList();
        Assert.True(all.Count >= 2, $"{all.Count} deliveries");
        Assert.Single(all.Select(d => d.Delivery).Distinct());
        Assert.False(string.IsNullOrEmpty(all[0].Delivery));
        foreach (var delivery in all)
        {
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), delivery.Body));
            Assert.Equal(expected, delivery.Signature);
            using var job = JsonDocument.Parse(delivery.Body);
            Assert.Equal(id, job.RootElement.GetProperty("id").GetString());
            Assert.Equal("succeeded", job.RootElement.GetProperty("status").GetString());
            Assert.DoesNotContain("token=abc", Encoding.UTF8.GetString(delivery.Body), StringComparison.Ordinal);
        }
        Assert.Equal(JobStatus.Succeeded, view.Status);
        Assert.Equal(all.Count, view.Webhook!.Attempts);
        Assert.Equal(200, view.Webhook.LastStatus);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
