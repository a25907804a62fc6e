using System.CommandLine;
using System.Text.Json;
using Berth.Scanner;
using Berth.Scanner.Advisories;
using Berth.Scanner.Layers;
using Berth.Scanner.Policy;
using Berth.Scanner.Reports;
using Berth.Scanner.Severity;
using Docker.DotNet;

namespace Berth.Cli;

/// <summary>The command line. Exit codes: 0 the policy passes, 1 it fails, 2 an error (bad arguments included).</summary>
public static class BerthCommands
{
    public const int Pass = 0;
    public const int PolicyFailed = 1;
    public const int Error = 2;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var db = new Option<string>("--db") { Description = "Advisory database folder (default: $BERTH_VULNDB or /var/lib/berth/vulndb)" };

        var image = new Argument<string>("image") { Description = "A local image: name[:tag] or id" };
        var format = new Option<string>("--format") { Description = "table, json or cyclonedx", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "cyclonedx");
        var failOn = new Option<string>("--fail-on") { Description = "critical, high, medium, low or none", DefaultValueFactory = _ => "high" };
        failOn.AcceptOnlyFromAmong("critical", "high", "medium", "low", "none");
        var ignoreUnfixed = new Option<bool>("--ignore-unfixed") { Description = "Findings with no fix do not fail", DefaultValueFactory = _ => true };
        var unknownFails = new Option<bool>("--unknown-severity-fails") { Description = "A fixable finding of unknown severity fails", DefaultValueFactory = _ => true };
        var docker = new Option<string>("--docker") { Description = "Docker Engine endpoint", DefaultValueFactory = _ => "unix:///var/run/docker.sock" };
        var scan = new Command("scan", "Scan a local image for known vulnerabilities") { image, format, failOn, ignoreUnfixed, unknownFails, docker, db };

        var baseUrl = new Option<string>("--base-url") { Description = "Where <Ecosystem>/all.zip are served", DefaultValueFactory = _ => DatabaseUpdater.DefaultBaseUrl.ToString() };
        var ecosystems = new Option<string[]>("--ecosystem") { Description = "Ecosystems to download (repeat)", AllowMultipleArgumentsPerToken = true };
        var update = new Command("update", "Download the advisory database, verify it, and swap it in") { baseUrl, ecosystems, db };
        var dbCommand = new Command("db", "Manage the advisory database") { update };

        var root = new RootCommand("Berth: image vulnerability scanning on the command line") { scan, dbCommand };

        scan.SetAction(async (result, cancellationToken) =>
        {
            var policy = new ScanPolicy(
                result.GetValue(failOn) == "none" ? null : SeverityLevels.TryParse(result.GetValue(failOn), out var level) ? level : SeverityLevel.High,
                result.GetValue(ignoreUnfixed), result.GetValue(unknownFails), []);
            return await ScanAsync(result.GetValue(image)!, result.GetValue(format)!, policy, DbFolder(result.GetValue(db)),
                result.GetValue(docker)!, stdout, stderr, cancellationToken);
        });
        update.SetAction(async (result, cancellationToken) =>
        {
            var list = result.GetValue(ecosystems) is { Length: > 0 } given ? given : DatabaseUpdater.DefaultEcosystems.ToArray();
            return await UpdateAsync(DbFolder(result.GetValue(db)), new Uri(result.GetValue(baseUrl)!), list, stdout, stderr, cancellationToken);
        });

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await stderr.WriteLineAsync(error.Message);
            }
            return Error;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    private static string DbFolder(string? given) =>
        given ?? Environment.GetEnvironmentVariable("BERTH_VULNDB") ?? "/var/lib/berth/vulndb";

    private static async Task<int> ScanAsync(string image, string format, ScanPolicy policy, string dbFolder, string dockerEndpoint,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            var database = AdvisoryDatabase.Load(dbFolder);
            using var client = new DockerClientBuilder().WithEndpoint(new Uri(dockerEndpoint)).Build();
            ScanResult result;
            await using (var saved = await client.Images.SaveImageAsync(image, cancellationToken))
            {
                result = await ImageScanner.ScanAsync(new EndTolerantStream(saved), database, cancellationToken);
            }
            var now = TimeProvider.System.GetUtcNow();
            var verdict = policy.Evaluate(result.Findings, DateOnly.FromDateTime(now.UtcDateTime));
            var info = DatabaseInfo.Of(database, now, maxAgeDays: 7);
            var report = ScanReport.Create(image, result, verdict, policy, info);
            switch (format)
            {
                case "json":
                    await stdout.WriteLineAsync(JsonSerializer.Serialize(report, Json));
                    break;
                case "cyclonedx":
                    await stdout.WriteLineAsync(CycloneDx.ToJson(CycloneDx.Create(image, result, verdict.Findings, now, Guid.NewGuid())));
                    break;
                default:
                    await TableWriter.WriteAsync(report, stdout);
                    break;
            }
            foreach (var warning in report.Warnings)
            {
                await stderr.WriteLineAsync($"warning: {warning}");
            }
            if (verdict.Failed)
            {
                await stderr.WriteLineAsync(ScanReport.FailureMessage(verdict, policy));
                return PolicyFailed;
            }
            return Pass;
        }
        catch (DockerImageNotFoundException)
        {
            await stderr.WriteLineAsync($"error: image '{image}' is not on this engine");
            return Error;
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException or InvalidDataException)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return Error;
        }
    }

    private static async Task<int> UpdateAsync(string folder, Uri baseUrl, string[] ecosystems, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
            var result = await new DatabaseUpdater(http, TimeProvider.System).UpdateAsync(folder, baseUrl, ecosystems, cancellationToken);
            foreach (var (ecosystem, records) in result.Records)
            {
                await stdout.WriteLineAsync($"{ecosystem}: {records} records");
            }
            await stdout.WriteLineAsync($"updated {result.Folder} at {result.UpdatedAt:u}");
            return Pass;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException or TaskCanceledException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"error: the database was not updated: {e.Message}");
            return Error;
        }
    }
}
