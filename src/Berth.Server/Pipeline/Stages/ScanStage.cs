using Berth.Scanner;
using Berth.Scanner.Layers;
using Berth.Scanner.Reports;
using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Scanning;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline.Stages;

/// <summary>
/// Scans the built image through the scanner's one entry point (<see cref="ImageScan"/>) and fails the job as
/// <c>vulnerable</c>, <c>scan_incomplete</c> or <c>secrets_found</c> when the policy says so, or <c>scan_failed</c> when no verdict is
/// possible. Writes the report and a CycloneDX SBOM beside the job.
/// </summary>
public sealed class ScanStage(
    IContainerEngine engine,
    EngineNames names,
    AllowedImages allowed,
    AdvisoryDatabaseProvider databases,
    LayerCache cache,
    IOptions<ScanOptions> options,
    IOptions<BerthOptions> berth,
    TimeProvider time,
    ILogger<ScanStage> logger) : IJobStage
{
    public string Name => "scan";

    public JobStatus Status => JobStatus.Scanning;

    public async Task<StageOutcome> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var scan = options.Value;
        if (!scan.Enabled)
        {
            context.Job = context.Job with { Scan = ScanSummary.Skipped("scanning is disabled (Scan:Enabled=false)") };
            return StageOutcome.Skipped;
        }
        var image = context.Job.ImageId ?? throw new InvalidOperationException("the build stage did not run");
        var database = await databases.GetAsync(cancellationToken);
        if (database.IsEmpty && scan.RequireDatabase)
        {
            Log.ScanDatabaseMissing(logger, context.Job.Id, database.Folder);
            return StageOutcome.Failed(FailureReasons.ScanFailed,
                $"no advisory database is installed and Scan:RequireDatabase is set; the operator runs `berth db update` or `berth db import` (the server log names the folder under job {context.Job.Id})");
        }

        var name = names.ImageTag(context.Job.Id);
        ScanOutcome outcome;
        try
        {
            var inspect = await engine.InspectImageAsync(image, cancellationToken)
                ?? throw new ScanFailedException("the built image is no longer on the engine");
            var local = scan.ReadLayerDirectories && berth.Value.DockerEndpoint.StartsWith("unix://", StringComparison.Ordinal);
            var layout = ImageLayout.FromInspect(inspect.Layers.ToList(), local ? inspect.GraphDriver : null,
                inspect.GraphDriverData is { } data ? new Dictionary<string, string>(data, StringComparer.Ordinal) : null);
            var request = new ScanRequest(name, layout, token => engine.SaveImageAsync(image, token), await BaseLayersAsync(cancellationToken));
            outcome = await new ImageScan(database, cache, time).RunAsync(request, scan.Settings(), cancellationToken);
        }
        catch (ScanFailedException e)
        {
            Log.ScanFailed(logger, context.Job.Id, e.Message, e.InnerException);
            return StageOutcome.Failed(FailureReasons.ScanFailed, e.InnerException is null
                ? e.Message
                : $"the image could not be read for scanning; the server log has the details under job {context.Job.Id}");
        }
        var stats = outcome.Stats;
        Log.Scanned(logger, context.Job.Id, outcome.Result.Packages.Count, stats.Seconds, stats.Reader, stats.LayersRead, stats.LayersFromCache, outcome.Decision.ToString());

        var report = outcome.Report;
        await File.WriteAllTextAsync(context.Paths.ScanReport, System.Text.Json.JsonSerializer.Serialize(report, JobJson.Options), cancellationToken);
        await File.WriteAllTextAsync(context.Paths.Sbom,
            CycloneDx.ToJson(CycloneDx.Create(name, outcome.Result, outcome.Verdict.Findings, time.GetUtcNow(), Guid.NewGuid())), cancellationToken);

        var status = outcome.Decision switch
        {
            ScanDecision.Vulnerable or ScanDecision.SecretsFound => ScanStatus.Failed,
            ScanDecision.Incomplete => ScanStatus.Incomplete,
            _ => ScanStatus.Passed,
        };
        context.Job = context.Job with
        {
            Scan = new ScanSummary(status, report.Packages, report.Findings, report.Database.AgeDays, report.Warnings,
                ScanDatabaseSummary.Of(report.Database), report.Incomplete, report.Coverage?.Message, outcome.Result.SecretsFound.Count),
        };
        return outcome.Decision switch
        {
            ScanDecision.Vulnerable => StageOutcome.Failed(FailureReasons.Vulnerable, outcome.Message!),
            ScanDecision.Incomplete => StageOutcome.Failed(FailureReasons.ScanIncomplete, outcome.Message!),
            ScanDecision.SecretsFound => StageOutcome.Failed(FailureReasons.SecretsFound, outcome.Message!),
            _ => StageOutcome.Completed,
        };
    }

    /// <summary>The layers of the allowed base images on the engine: what a job did not write is not searched for secrets.</summary>
    private async Task<IReadOnlySet<string>> BaseLayersAsync(CancellationToken cancellationToken)
    {
        var layers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var reference in allowed.References)
        {
            if (await engine.InspectImageAsync(reference, cancellationToken) is { } image)
            {
                layers.UnionWith(image.Layers);
            }
        }
        return layers;
    }
}
