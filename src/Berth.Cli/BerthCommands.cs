using System.CommandLine;
using System.Text.Json;
using Berth.Cli.Jobs;
using Berth.Scanner;
using Berth.Scanner.Advisories;
using Berth.Scanner.Layers;
using Berth.Scanner.Policy;
using Berth.Scanner.Reports;
using Berth.Scanner.Severity;
using Docker.DotNet;

namespace Berth.Cli;

/// <summary>
/// The command line: the client of a Berth server (<see cref="JobCommands"/>: submit, jobs, get, logs, cancel, report) and
/// the local scanner (scan, db). Exit codes: 0 success (the scan policy passes; the waited-for job succeeded), 1 the
/// policy fails or the waited-for job failed or was canceled, 2 an error (bad arguments, server unreachable or refusing
/// the request), 130 interrupted by Ctrl-C (<c>submit --wait</c> detaches and leaves the job running).
/// </summary>
public static class BerthCommands
{
    public const int Pass = 0;
    public const int PolicyFailed = 1;
    public const int JobFailed = 1;
    public const int Error = 2;
    public const int Interrupted = 130;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) => RunAsync(args, stdout, stderr, CliHost.Plain);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CliHost host)
    {
        var defaults = ScanSettings.Default;
        var db = new Option<string>("--db") { Description = "Advisory database folder (default: $BERTH_VULNDB or /var/lib/berth/vulndb); the bundled snapshot is installed there when it holds none" };

        var image = new Argument<string>("image") { Description = "A local image: name[:tag] or id" };
        var format = new Option<string>("--format") { Description = "table, json, cyclonedx or sarif", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "cyclonedx", "sarif");
        var failOn = new Option<string>("--fail-on") { Description = "critical, high, medium, low or none", DefaultValueFactory = _ => defaults.Policy.FailOn?.ToWire() ?? "none" };
        failOn.AcceptOnlyFromAmong("critical", "high", "medium", "low", "none");
        var ignoreUnfixed = new Option<bool>("--ignore-unfixed") { Description = "Findings with no fix do not fail", DefaultValueFactory = _ => defaults.Policy.IgnoreUnfixed };
        var unknownFails = new Option<bool>("--unknown-severity-fails") { Description = "A fixable finding of unknown severity fails", DefaultValueFactory = _ => defaults.Policy.UnknownSeverityFails };
        var incompleteFails = new Option<bool>("--incomplete-fails") { Description = "A package database that cannot be read fails", DefaultValueFactory = _ => defaults.IncompleteFails };
        var uncoveredFails = new Option<bool>("--uncovered-release-fails") { Description = "An OS release the database does not cover fails", DefaultValueFactory = _ => defaults.UncoveredReleaseFails };
        var timeout = new Option<int>("--timeout") { Description = "Seconds the scan may take", DefaultValueFactory = _ => (int)defaults.Timeout.TotalSeconds };
        var secrets = new Option<string>("--secrets") { Description = "Secrets in the image's own layers: fail, warn or off", DefaultValueFactory = _ => "warn" };
        secrets.AcceptOnlyFromAmong("fail", "warn", "off");
        var bases = new Option<string[]>("--base") { Description = "A base image whose layers are not searched for secrets (repeat)", AllowMultipleArgumentsPerToken = true };
        var cacheDir = new Option<string?>("--cache") { Description = "Folder for the per-layer cache (default: none)" };
        var docker = new Option<string>("--docker") { Description = "Docker Engine endpoint", DefaultValueFactory = _ => "unix:///var/run/docker.sock" };
        var scan = new Command("scan", "Scan a local image for known vulnerabilities")
        {
            image, format, failOn, ignoreUnfixed, unknownFails, incompleteFails, uncoveredFails, timeout, secrets, bases, cacheDir, docker, db,
        };

        var baseUrl = new Option<string>("--base-url") { Description = "Where <Ecosystem>/all.zip are served", DefaultValueFactory = _ => DatabaseUpdater.DefaultBaseUrl.ToString() };
        var ecosystems = new Option<string[]>("--ecosystem") { Description = "Ecosystems to download (repeat)", AllowMultipleArgumentsPerToken = true };
        var update = new Command("update", "Download the advisory database from OSV, verify it, and swap it in") { baseUrl, ecosystems, db };
        var source = new Argument<string>("source") { Description = "An OSV export: a zip of OSV JSON records, or a folder of such zips and/or .json records" };
        var import = new Command("import", "Load an OSV export carried in (air-gapped sites), verify it, and swap it in") { source, db };
        var dbCommand = new Command("db", "Manage the advisory database") { update, import };

        // Not RootCommand: that names the program after the file it runs from (Berth.Cli); users type ./berth.
        var root = new Command("berth", "Berth: submit Dockerfiles to a Berth server and follow their jobs; scan local images")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
        };
        foreach (var command in JobCommands.Create(host, stdout, stderr).Append(scan).Append(dbCommand))
        {
            root.Subcommands.Add(command);
        }

        scan.SetAction(async (result, cancellationToken) =>
        {
            if (result.GetValue(timeout) is < 1 or > 86_400)
            {
                await stderr.WriteLineAsync("error: --timeout takes 1 to 86400 seconds");
                return Error;
            }
            var settings = defaults with
            {
                Policy = new ScanPolicy(
                    result.GetValue(failOn) == "none" ? null : SeverityLevels.TryParse(result.GetValue(failOn), out var level) ? level : SeverityLevel.High,
                    result.GetValue(ignoreUnfixed), result.GetValue(unknownFails), []),
                IncompleteFails = result.GetValue(incompleteFails),
                UncoveredReleaseFails = result.GetValue(uncoveredFails),
                Timeout = TimeSpan.FromSeconds(result.GetValue(timeout)),
                Secrets = result.GetValue(secrets) switch { "fail" => SecretsMode.Fail, "off" => SecretsMode.Off, _ => SecretsMode.Warn },
            };
            return await ScanAsync(result.GetValue(image)!, result.GetValue(format)!, settings, DbFolder(result.GetValue(db)),
                result.GetValue(cacheDir), result.GetValue(bases) ?? [], result.GetValue(docker)!, stdout, stderr, cancellationToken);
        });
        update.SetAction(async (result, cancellationToken) =>
        {
            var list = result.GetValue(ecosystems) is { Length: > 0 } given ? given : DatabaseUpdater.DefaultEcosystems.ToArray();
            return await InstallAsync(stdout, stderr, async () =>
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
                return await new DatabaseUpdater(http, TimeProvider.System).UpdateAsync(DbFolder(result.GetValue(db)), new Uri(result.GetValue(baseUrl)!), list, cancellationToken);
            });
        });
        import.SetAction(async (result, cancellationToken) =>
            await InstallAsync(stdout, stderr, () =>
                new DatabaseImporter(TimeProvider.System).ImportAsync(DbFolder(result.GetValue(db)), result.GetValue(source)!, cancellationToken)));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await stderr.WriteLineAsync(error.Message);
            }
            return Error;
        }
        // Ctrl-C is the host's (CliHost.Interrupt): System.CommandLine's own handler would end the process after a grace.
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null });
    }

    private static string DbFolder(string? given) =>
        given ?? Environment.GetEnvironmentVariable("BERTH_VULNDB") ?? "/var/lib/berth/vulndb";

    private static async Task<int> ScanAsync(string image, string format, ScanSettings settings, string dbFolder, string? cacheDir, string[] bases, string dockerEndpoint,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            if (await BundledDatabase.InstallIfMissingAsync(dbFolder, TimeProvider.System, cancellationToken) is { } installed)
            {
                await stderr.WriteLineAsync($"installed the bundled advisory snapshot in {installed.Folder} ({installed.Records.Values.Sum()} records)");
            }
            var database = AdvisoryDatabase.Load(dbFolder);
            using var client = new DockerClientBuilder().WithEndpoint(new Uri(dockerEndpoint)).Build();
            var inspect = await client.Images.InspectImageAsync(image, cancellationToken);
            var local = dockerEndpoint.StartsWith("unix://", StringComparison.Ordinal);
            var layout = ImageLayout.FromInspect(inspect.RootFS?.Layers, local ? inspect.GraphDriver?.Name : null, inspect.GraphDriver?.Data);
            var baseLayers = new HashSet<string>(StringComparer.Ordinal);
            foreach (var baseImage in bases)
            {
                baseLayers.UnionWith((await client.Images.InspectImageAsync(baseImage, cancellationToken)).RootFS?.Layers ?? []);
            }
            var request = new ScanRequest(image, layout, async token => new EndTolerantStream(await client.Images.SaveImageAsync(inspect.ID, token)), baseLayers);
            var cache = cacheDir is null ? null : new LayerCache(cacheDir, 256L * 1024 * 1024, TimeProvider.System);
            var outcome = await new ImageScan(database, cache, TimeProvider.System).RunAsync(request, settings, cancellationToken);
            var report = outcome.Report;
            switch (format)
            {
                case "json":
                    await stdout.WriteLineAsync(JsonSerializer.Serialize(report, Json));
                    break;
                case "cyclonedx":
                    await stdout.WriteLineAsync(CycloneDx.ToJson(CycloneDx.Create(image, outcome.Result, outcome.Verdict.Findings, TimeProvider.System.GetUtcNow(), Guid.NewGuid())));
                    break;
                case "sarif":
                    await stdout.WriteLineAsync(Sarif.ToJson(report));
                    break;
                default:
                    await TableWriter.WriteAsync(report, stdout);
                    break;
            }
            foreach (var secret in outcome.Result.SecretsFound)
            {
                await stderr.WriteLineAsync($"secret: {secret.RuleId} ({secret.Severity}) at {secret.Location.Path}:{secret.Line}: {secret.Masked}");
            }
            foreach (var problem in report.Incomplete)
            {
                await stderr.WriteLineAsync($"incomplete: {problem}");
            }
            foreach (var warning in report.Warnings)
            {
                await stderr.WriteLineAsync($"warning: {warning}");
            }
            if (outcome.Decision != ScanDecision.Passed)
            {
                await stderr.WriteLineAsync(outcome.Message);
                return PolicyFailed;
            }
            return Pass;
        }
        catch (DockerImageNotFoundException)
        {
            await stderr.WriteLineAsync($"error: image '{image}' is not on this engine");
            return Error;
        }
        catch (ScanFailedException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return Error;
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return Error;
        }
    }

    private static async Task<int> InstallAsync(TextWriter stdout, TextWriter stderr, Func<Task<InstallResult>> install)
    {
        try
        {
            var result = await install();
            foreach (var (ecosystem, records) in result.Records.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                await stdout.WriteLineAsync($"{ecosystem}: {records} records");
            }
            await stdout.WriteLineAsync($"installed {result.Metadata.Source} in {result.Folder} at {result.Metadata.UpdatedAt:u}");
            return Pass;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException or TaskCanceledException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"error: the database was not changed: {e.Message}");
            return Error;
        }
    }
}
