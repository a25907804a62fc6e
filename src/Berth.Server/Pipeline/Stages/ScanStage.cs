using Berth.Scanner;
using Berth.Scanner.Reports;
using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Scanning;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline.Stages;

/// <summary>
/// Scans the built image (packages from its layers, matched against OSV advisories) and fails the job
/// as <c>vulnerable</c> when the policy says so. Writes the report and a CycloneDX SBOM beside the job.
/// </summary>
public sealed class ScanStage(
    DockerEngine engine, HardeningProfile profile, AdvisoryDatabaseProvider databases, IOptions<ScanOptions> options, TimeProvider time, ILogger<ScanStage> logger) : IJobStage
{
    public string Name => "scan";

    public JobStatus Status => JobStatus.Scanning;

    public async Task ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var scan = options.Value;
        if (!scan.Enabled)
        {
            context.Job = context.Job with { Scan = ScanSummary.Skipped("scanning is disabled (Scan:Enabled=false)") };
            context.StageSkipped = true;
            return;
        }
        var image = context.Job.ImageId ?? throw new InvalidOperationException("the build stage did not run");
        var database = await databases.GetAsync(cancellationToken);
        if (database.IsEmpty && scan.RequireDatabase)
        {
            Log.ScanDatabaseMissing(logger, context.Job.Id, database.Folder);
            throw new JobFailedException(FailureReasons.ScanFailed,
                $"no advisory database is installed and Scan:RequireDatabase is set; the operator runs `berth db update` (the server log names the folder under job {context.Job.Id})");
        }

        ScanResult result;
        try
        {
            await using var saved = await engine.SaveImageAsync(image, cancellationToken);
            result = await ImageScanner.ScanAsync(saved, database, cancellationToken);
        }
        catch (InvalidDataException e)
        {
            Log.ScanImageUnreadable(logger, context.Job.Id, e);
            throw new JobFailedException(FailureReasons.ScanFailed, $"the image could not be read for scanning; the server log has the details under job {context.Job.Id}");
        }

        var now = time.GetUtcNow();
        var policy = scan.Policy();
        var verdict = policy.Evaluate(result.Findings, DateOnly.FromDateTime(now.UtcDateTime));
        var info = DatabaseInfo.Of(database, now, scan.MaxDatabaseAgeDays);
        var report = ScanReport.Create(profile.ImageTag(context.Job.Id), result, verdict, policy, info);
        await File.WriteAllTextAsync(context.Paths.ScanReport, System.Text.Json.JsonSerializer.Serialize(report, JobJson.Options), cancellationToken);
        await File.WriteAllTextAsync(context.Paths.Sbom,
            CycloneDx.ToJson(CycloneDx.Create(profile.ImageTag(context.Job.Id), result, verdict.Findings, now, Guid.NewGuid())), cancellationToken);

        context.Job = context.Job with
        {
            Scan = new ScanSummary(verdict.Failed ? "failed" : "passed", report.Packages, report.Findings, info.AgeDays, report.Warnings),
        };
        if (verdict.Failed)
        {
            throw new JobFailedException(FailureReasons.Vulnerable, ScanReport.FailureMessage(verdict, policy));
        }
    }
}
