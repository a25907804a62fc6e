using System.Text;
using System.Text.Json;
using Berth.Scanner.Packages;
using Berth.Scanner.Reports;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;
using Berth.Server.Tests.Api;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Server.Tests.Dashboard;

/// <summary>
/// Plays a job's progress on a server that runs none (Workers=0): writes the job record through the server's
/// <see cref="IJobStore"/> and its log and scan report through <see cref="IJobFiles"/>, as the pipeline would.
/// </summary>
internal sealed class JobDriver(BerthApiFactory server)
{
    public const string BuildLine = "Step 1/2 : FROM busybox:latest";
    public const string RunLine = "hello from the run <script>alert(1)</script>";

    private IJobStore Store => server.Services.GetRequiredService<IJobStore>();

    private IJobFiles Files => server.Services.GetRequiredService<IJobFiles>();

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    private async Task<Job> GetAsync(string id) => await Store.GetAsync(id, CancellationToken.None) ?? throw new InvalidOperationException($"no job {id}");

    private Task WriteAsync(string id, JobFile file, string text) =>
        Files.WriteAsync(id, file, new MemoryStream(Encoding.UTF8.GetBytes(text)), CancellationToken.None);

    /// <summary>Lint done (one warning), build running, the first build log line written.</summary>
    public async Task StartBuildAsync(string id)
    {
        var job = await GetAsync(id);
        var now = Now;
        job = job with
        {
            Status = JobStatus.Building,
            StartedAt = now.AddSeconds(-3),
            Attempts = 1,
            Lint = [new LintFinding("unpinned-base-image", 1, LintSeverity.Warning, "busybox:latest is not pinned to a digest")],
        };
        job = job.WithStage("lint", StageStatus.Running, now.AddSeconds(-3)).WithStage("lint", StageStatus.Succeeded, now.AddSeconds(-2))
            .WithStage("build", StageStatus.Running, now.AddSeconds(-2));
        await WriteAsync(id, JobFile.BuildLog, BuildLine + "\n");
        await Store.SaveAsync(job, CancellationToken.None);
    }

    /// <summary>Every stage done, the run log and a scan report with findings of several severities written, succeeded.</summary>
    public async Task SucceedAsync(string id, double performance, bool withFindings = false)
    {
        var job = await GetAsync(id);
        var now = Now;
        var at = now.AddSeconds(-job.Stages.Count * 2);
        foreach (var stage in job.Stages)
        {
            job = job.WithStage(stage.Name, StageStatus.Running, at).WithStage(stage.Name, StageStatus.Succeeded, at.AddSeconds(stage.Name == "build" ? 1.6 : 0.4));
            at = at.AddSeconds(2);
        }
        var report = Report(withFindings);
        job = job with
        {
            Status = JobStatus.Succeeded,
            StartedAt = job.StartedAt ?? now.AddSeconds(-job.Stages.Count * 2),
            FinishedAt = now,
            Performance = performance,
            ExitCode = 0,
            ImageId = "sha256:" + new string('a', 64),
            Scan = new ScanSummary(ScanStatus.Passed, report.Packages, report.Findings, 1.0, []),
        };
        await WriteAsync(id, JobFile.BuildLog, BuildLine + "\nStep 2/2 : CMD [\"sh\"]\nSuccessfully built\n");
        await WriteAsync(id, JobFile.RunLog, RunLine + "\nperf 42\n");
        await WriteAsync(id, JobFile.ScanReport, JsonSerializer.Serialize(report, JobJson.Options));
        await WriteAsync(id, JobFile.Sbom, """{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}""");
        await Store.SaveAsync(job, CancellationToken.None);
    }

    /// <summary>Canceled in the build stage (as the runner ends a job whose cancel it was told of).</summary>
    public async Task CancelBuildAsync(string id)
    {
        var job = await GetAsync(id);
        await Store.SaveAsync(job.WithStage("build", StageStatus.Canceled, Now) with { Status = JobStatus.Canceled, FinishedAt = Now }, CancellationToken.None);
    }

    /// <summary>Failed in the build stage, with the build log so far.</summary>
    public async Task FailBuildAsync(string id, string message)
    {
        await StartBuildAsync(id);
        var job = await GetAsync(id);
        var now = Now;
        job = job.WithStage("build", StageStatus.Failed, now) with
        {
            Status = JobStatus.Failed,
            FinishedAt = now,
            Failure = new JobFailure(FailureReasons.BuildFailed, message),
        };
        await WriteAsync(id, JobFile.BuildLog, BuildLine + "\n" + message + "\n");
        await Store.SaveAsync(job, CancellationToken.None);
    }

    public static readonly ReportFinding Critical = Finding("CVE-2024-0001", "openssl", "3.0.1-1", "3.0.2-1", "critical");
    public static readonly ReportFinding Medium = Finding("CVE-2024-0002", "zlib", "1.2.11-1", null, "medium");

    private static ReportFinding Finding(string id, string package, string installed, string? fixedIn, string severity) =>
        new(id, [], $"{package} <b>issue</b>", package, "deb", installed, null, fixedIn, severity, null,
            new FileLocation("sha256:layer", "/var/lib/dpkg/status"), null, $"https://advisories.example/{id}");

    private static ScanReport Report(bool withFindings)
    {
        List<ReportFinding> details = withFindings ? [Critical, Medium] : [];
        return new ScanReport("berth-job:test", new Distro("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
            new DatabaseInfo("bundled", 100, 0, null, 1, null, null), 42,
            new SeverityCounts(details.Count(d => d.Severity == "critical"), 0, details.Count(d => d.Severity == "medium"), 0, 0),
            false, "critical", details, [], [], null);
    }
}
