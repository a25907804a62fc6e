using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Pipeline;

/// <summary>
/// A Berth with <c>Scan:Secrets=fail</c> and an allowed test base that carries a private key of its own. Secrets
/// are generated at run time (never written in the repository).
/// </summary>
public sealed class SecretServer : IAsyncLifetime
{
    public static readonly string KeyBase = $"it-keybase-{Guid.NewGuid().ToString("N")[..8]}:latest";

    public BerthProcess Server { get; private set; } = null!;

    public Infrastructure.Docker Docker { get; } = new();

    public async Task InitializeAsync()
    {
        using var rsa = RSA.Create(2048);
        var pem = rsa.ExportRSAPrivateKeyPem().Replace("\n", "\\n", StringComparison.Ordinal);
        await Docker.BuildImageAsync(KeyBase, $"FROM busybox:latest\nRUN mkdir -p /etc/ssl/private && printf '{pem}\\n' > /etc/ssl/private/base.key\n");
        Server = await BerthProcess.StartAsync(TempRoot.Create("secrets"), new Dictionary<string, string>(BerthFixture.Settings)
        {
            ["Scan:Secrets"] = "fail",
            ["Build:AllowedImages:0"] = "busybox:latest",
            ["Build:AllowedImages:1"] = KeyBase,
            ["Build:AllowedImages:2"] = "debian:bookworm-slim",
        });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Docker.RemoveImageAsync(KeyBase);
        Docker.Dispose();
    }
}

/// <summary>Secrets baked into a job's own layers are found, reported masked, and fail the job under <c>Scan:Secrets=fail</c>; the base's are not the job's.</summary>
public sealed class SecretScanTests(SecretServer server) : IClassFixture<SecretServer>
{
    private const string Done = "CMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n";

    private static string Token(string prefix, int length) =>
        prefix + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", length);

    private async Task<JobView> RunWithContextAsync(string dockerfile, params (string Name, string Content)[] files)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(dockerfile), "dockerfile" },
            { new StreamContent(TarGz(files)), "context", "context.tar.gz" },
        };
        using var response = await server.Server.Client.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), form);
        return await new BerthApi(server.Server.Client).WaitTerminalAsync((await AcceptedAsync(response)).Id);
    }

    [Fact]
    public async Task Scan_TokenAndKeyInTheJobsOwnLayer_FailSecretsFoundMasked()
    {
        var token = Token("ghp_", 36);
        using var rsa = RSA.Create(2048);
        var job = await RunWithContextAsync(
            $"FROM {SecretServer.KeyBase}\nCOPY .env /app/.env\nCOPY id_rsa /root/.ssh/id_rsa\n{Done}",
            (".env", $"GITHUB_TOKEN={token}\n"), ("id_rsa", rsa.ExportRSAPrivateKeyPem()));

        Assert.Equal(FailureReasons.SecretsFound, job.Failure?.Reason);
        Assert.Equal(2, job.Scan?.Secrets);
        Assert.Contains("(Scan:Secrets=fail)", job.Failure?.Message, StringComparison.Ordinal);
        var report = await server.Server.Client.GetStringAsync(new Uri($"/api/v1/jobs/{job.Id}/report", UriKind.Relative));
        var secrets = JsonDocument.Parse(report).RootElement.GetProperty("scan").GetProperty("secrets").EnumerateArray().ToList();
        Assert.Equal(["github-pat /app/.env:1 ghp_*****", "private-key-rsa /root/.ssh/id_rsa:1 MIIE*****"],
            secrets.Select(s => $"{s.GetProperty("ruleId").GetString()} {s.GetProperty("location").GetProperty("path").GetString()}:{s.GetProperty("line").GetInt32()} {s.GetProperty("masked").GetString()}")
                .Order(StringComparer.Ordinal));
        Assert.All(secrets, s => Assert.StartsWith("sha256:", s.GetProperty("location").GetProperty("layer").GetString(), StringComparison.Ordinal));
        // The base image's own key (/etc/ssl/private/base.key) is not the job's; the raw values appear nowhere.
        Assert.DoesNotContain("base.key", report, StringComparison.Ordinal);
        Assert.DoesNotContain(token[4..], report, StringComparison.Ordinal);
        Assert.DoesNotContain(token[4..], JsonSerializer.Serialize(job), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scan_LookAlikesAndTheBasesKey_AreNotTheJobsSecrets()
    {
        var job = await RunWithContextAsync(
            $"FROM {SecretServer.KeyBase}\nCOPY config /app/config\n{Done}",
            ("config", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\ntoken = ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n" +
                       "-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\nsk_test_" + Token("", 24) + "\n"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(0, job.Scan?.Secrets);
    }
}
