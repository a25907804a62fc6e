using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Berth.Cli.Tests.Infrastructure;
using Berth.Server.Jobs;

namespace Berth.Cli.Tests.Jobs;

/// <summary>submit (without --wait), jobs, get, logs, cancel and report against a real Berth, and their errors.</summary>
[Collection(CliServerCollection.Name)]
public sealed class JobCommandsTests(CliServer server) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-cli-jobs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string relative, string text)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private async Task<string> SubmitAsync(string name)
    {
        var result = await CliRun.RunAsync(server.Url, "submit", Write("Dockerfile", "FROM busybox:latest\n"), "--name", name, "--output", "json");
        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        return JsonDocument.Parse(result.Out).RootElement.GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task Submit_ADockerfileWithLimits_QueuesTheJobAsAsked()
    {
        var dockerfile = Write("Dockerfile", "FROM busybox:latest\nCMD [\"echo\", \"hi\"]\n");
        var name = Unique("limits");

        var result = await CliRun.RunAsync(server.Url, "submit", dockerfile, "--name", name, "--timeout", "30", "--limits-memory-mb", "128");

        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        var job = await server.WaitForNamedAsync(name);
        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(30, job.Limits.TimeoutSeconds);
        Assert.Equal(128, job.Limits.MemoryMb);
        Assert.Matches($@"(?m)^id\s+{job.Id}$", result.Out);
        Assert.Matches(@"(?m)^status\s+queued$", result.Out);
        Assert.Contains($"./berth get {job.Id}", result.Err, StringComparison.Ordinal);
        await using var stored = await server.Files.OpenReadAsync(job.Id, JobFile.Dockerfile, CancellationToken.None);
        Assert.Equal("FROM busybox:latest\nCMD [\"echo\", \"hi\"]\n", await new StreamReader(stored!).ReadToEndAsync());
    }

    [Fact]
    public async Task Submit_AContextArchive_SendsItAsItIs()
    {
        var archive = Path.Combine(_dir, "ctx.tar.gz");
        await using (var file = File.Create(archive))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "data/input.txt") { DataStream = new MemoryStream("42\n"u8.ToArray()) });
        }
        var name = Unique("archive");

        var result = await CliRun.RunAsync(server.Url, "submit", Write("Dockerfile", "FROM busybox:latest\nCOPY data /data\n"), "--context", archive, "--name", name);

        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        var entries = await ContextEntriesAsync((await server.WaitForNamedAsync(name)).Id);
        Assert.Equal(["data/input.txt", "Dockerfile"], entries.Keys);
        Assert.Equal("42\n", entries["data/input.txt"]);
    }

    /// <summary>The stored build context's entries (name → content, or "-> target" for a link).</summary>
    internal static async Task<Dictionary<string, string>> ContextEntriesAsync(CliServer server, string id)
    {
        await using var stored = await server.Files.OpenReadAsync(id, JobFile.Context, CancellationToken.None);
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        using var reader = new TarReader(stored!);
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            entries[entry.Name] = entry.EntryType switch
            {
                TarEntryType.SymbolicLink => "-> " + entry.LinkName,
                TarEntryType.Directory => "<dir>",
                _ => entry.DataStream is null ? "" : await new StreamReader(entry.DataStream).ReadToEndAsync(),
            };
        }
        return entries;
    }

    private Task<Dictionary<string, string>> ContextEntriesAsync(string id) => ContextEntriesAsync(server, id);

    [Fact]
    public async Task Jobs_FilteredAndLimited_ListsNewestFirstAndPointsAtTheNextPage()
    {
        var older = await SubmitAsync(Unique("list-a"));
        var newer = await SubmitAsync(Unique("list-b"));

        var plain = await CliRun.RunAsync(server.Url, "jobs", "--status", "queued", "--limit", "2");
        var json = await CliRun.RunAsync(server.Url, "jobs", "--status", "queued", "--limit", "1", "--output", "json");

        Assert.True(plain.Exit == BerthCommands.Pass, plain.Err);
        var lines = plain.Out.TrimEnd().Split('\n');
        Assert.Equal("ID\tSTATUS\tNAME\tPERFORMANCE\tCREATED\tDURATION\tFAILURE", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith(newer + "\tqueued\t", lines[1], StringComparison.Ordinal);
        Assert.StartsWith(older + "\tqueued\t", lines[2], StringComparison.Ordinal);
        var page = JsonDocument.Parse(json.Out).RootElement;
        Assert.Equal(newer, Assert.Single(page.GetProperty("items").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal(newer, page.GetProperty("next").GetString());
    }

    [Fact]
    public async Task Jobs_UnknownStatus_Exits2WithTheServersReason()
    {
        var result = await CliRun.RunAsync(server.Url, "jobs", "--status", "sleeping");

        Assert.Equal(BerthCommands.Error, result.Exit);
        Assert.Contains("error: 400 Invalid query: unknown status 'sleeping'", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_AFailedJob_ShowsItsFailureReasonAndMessage()
    {
        var id = await SubmitAsync(Unique("get"));
        await server.AdvanceAsync(id, j => j with
        {
            Status = JobStatus.Failed, StartedAt = j.CreatedAt, FinishedAt = j.CreatedAt.AddSeconds(3),
            Failure = new JobFailure(FailureReasons.Timeout, "the run took longer than 30 s"),
        });

        var plain = await CliRun.RunAsync(server.Url, "get", id);
        var json = await CliRun.RunAsync(server.Url, "get", id, "--output", "json");

        Assert.Equal(BerthCommands.Pass, plain.Exit);
        Assert.Matches(@"(?m)^status\s+failed$", plain.Out);
        Assert.Matches(@"(?m)^failure\s+timeout: the run took longer than 30 s$", plain.Out);
        Assert.Matches(@"(?m)^duration\s+3\.0 s$", plain.Out);
        Assert.Equal("timeout", JsonDocument.Parse(json.Out).RootElement.GetProperty("failure").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Get_UnknownJob_Exits2SayingNotFound()
    {
        var result = await CliRun.RunAsync(server.Url, "get", new string('0', 32));

        Assert.Equal(BerthCommands.Error, result.Exit);
        Assert.Contains($"error: 404 Job not found: no job with id '{new string('0', 32)}'", result.Err, StringComparison.Ordinal);
        Assert.Equal("", result.Out);
    }

    [Fact]
    public async Task Logs_PrintsTheBuildLogThenTheRunLog_AndFollowOfAFinishedJobEnds()
    {
        var id = await SubmitAsync(Unique("logs"));
        await server.WriteFileAsync(id, JobFile.BuildLog, "building\n");
        await server.WriteFileAsync(id, JobFile.RunLog, "running\n");
        var now = DateTimeOffset.UtcNow;
        await server.AdvanceAsync(id, job => job with { Status = JobStatus.Succeeded, StartedAt = now, FinishedAt = now, Performance = 1 });

        var result = await CliRun.RunAsync(server.Url, "logs", id);
        var followed = await CliRun.RunAsync(server.Url, "logs", id, "--follow"); // the server follows: it ends with the job

        Assert.Equal(BerthCommands.Pass, result.Exit);
        Assert.Equal("==> build log <==\nbuilding\n\n==> run log <==\nrunning\n", result.Out);
        Assert.Equal(BerthCommands.Pass, followed.Exit);
        Assert.Equal(result.Out, followed.Out);
    }

    [Fact]
    public async Task Cancel_AQueuedJob_CancelsIt_AndASecondCancelIsAConflict()
    {
        var id = await SubmitAsync(Unique("cancel"));

        var first = await CliRun.RunAsync(server.Url, "cancel", id, "--output", "json");
        var second = await CliRun.RunAsync(server.Url, "cancel", id);

        Assert.Equal(BerthCommands.Pass, first.Exit);
        Assert.Equal("canceled", JsonDocument.Parse(first.Out).RootElement.GetProperty("status").GetString());
        Assert.Equal(JobStatus.Canceled, (await server.GetAsync(id)).Status);
        Assert.Equal(BerthCommands.Error, second.Exit);
        Assert.Contains($"error: 409 Conflict: job {id} already finished (canceled)", second.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_Table_ListsLintAndScanFindings_AndJsonAndCycloneDxPassThrough()
    {
        var id = await SubmitAsync(Unique("report"));
        await server.AdvanceAsync(id, j => j with
        {
            Lint = [new Berth.Server.Dockerfiles.LintFinding("BERTH005", 1, Berth.Server.Dockerfiles.LintSeverity.Warning, "pin the base image by digest")],
        });
        await server.WriteFileAsync(id, JobFile.ScanReport, """
            {"image":"x","packages":3,"findings":{"critical":0,"high":1,"medium":0,"low":0,"unknown":0},
             "details":[{"advisoryId":"PYSEC-2023-192","severity":"high","package":"urllib3","installedVersion":"1.26.16","fixedVersion":"1.26.17"}]}
            """);
        await server.WriteFileAsync(id, JobFile.Sbom, """{"bomFormat":"CycloneDX","specVersion":"1.5"}""");

        var table = await CliRun.RunAsync(server.Url, "report", id);
        var json = await CliRun.RunAsync(server.Url, "report", id, "--format", "json");
        var bom = await CliRun.RunAsync(server.Url, "report", id, "--format", "cyclonedx");

        Assert.True(table.Exit == BerthCommands.Pass, table.Err);
        Assert.Contains("BERTH005\t1\twarning\tpin the base image by digest", table.Out, StringComparison.Ordinal);
        Assert.Contains("scan: 3 packages; findings: critical 0, high 1, medium 0, low 0, unknown 0", table.Out, StringComparison.Ordinal);
        Assert.Contains("PYSEC-2023-192\thigh\turllib3\t1.26.16\t1.26.17", table.Out, StringComparison.Ordinal);
        var report = JsonDocument.Parse(json.Out).RootElement;
        Assert.Equal(id, report.GetProperty("jobId").GetString());
        Assert.Equal("BERTH005", report.GetProperty("lint")[0].GetProperty("rule").GetString());
        Assert.Equal("CycloneDX", JsonDocument.Parse(bom.Out).RootElement.GetProperty("bomFormat").GetString());
    }

    [Fact]
    public async Task Report_Sarif_WithoutAScan_Exits2SayingWhy()
    {
        var id = await SubmitAsync(Unique("noscan"));

        var result = await CliRun.RunAsync(server.Url, "report", id, "--format", "sarif");

        Assert.Equal(BerthCommands.Error, result.Exit);
        Assert.Contains($"error: 404 No scan report: job {id} has no scan report", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_FromBerthServerVariable_IsUsedWhenNoFlagGivesOne()
    {
        var result = await new CliRun(environment: new Dictionary<string, string> { ["BERTH_SERVER"] = server.Url.ToString() }).RunAsync("jobs", "--limit", "1");

        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        Assert.StartsWith("ID\tSTATUS", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("submit")]
    [InlineData("submit", "/nonexistent/Dockerfile")]
    [InlineData("get")]
    [InlineData("jobs", "--output", "xml")]
    [InlineData("report", "0123", "--format", "pdf")]
    [InlineData("jobs", "--server", "ftp://127.0.0.1/")]
    public async Task Usage_Mistakes_Exit2WithAMessage(params string[] args)
    {
        var result = await new CliRun().RunAsync(args);

        Assert.Equal(BerthCommands.Error, result.Exit);
        Assert.False(string.IsNullOrWhiteSpace(result.Err));
    }

    [Fact]
    public async Task Submit_ADirectoryWithoutDockerfile_Exits2NamingIt()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "empty"));

        var result = await CliRun.RunAsync(server.Url, "submit", Path.Combine(_dir, "empty"));

        Assert.Equal(BerthCommands.Error, result.Exit);
        Assert.Contains("holds no Dockerfile", result.Err, StringComparison.Ordinal);
    }
}

/// <summary>Where the server is not, or does not let the caller in: exit 2 and a message that says what to do.</summary>
public sealed class ConnectionTests
{
    [Fact]
    public async Task Get_NobodyListens_Exits2SayingTheServerCannotBeReached()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop(); // the port is free now: nothing listens on it

        var result = await CliRun.RunAsync(new Uri($"http://127.0.0.1:{port}"), "submit", "--wait", Path.Combine(RepoPaths.Root, "README.md"));

        Assert.Equal(BerthCommands.Error, result.Exit);
        Assert.Contains($"error: cannot reach the Berth server at http://127.0.0.1:{port}/: Connection refused", result.Err, StringComparison.Ordinal);
        Assert.Contains("BERTH_SERVER", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jobs_WrongOrMissingKey_Exits2With401AndTheWayOut_AndTheRightKeyFromTheEnvironmentWorks()
    {
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("right-key")));
        await using var server = new CliServer(new Dictionary<string, string>
        {
            ["Auth:Keys:0:Owner"] = "alice", ["Auth:Keys:0:Role"] = "user", ["Auth:Keys:0:Sha256"] = hash,
        });

        var wrong = await CliRun.RunAsync(server.Url, "jobs", "--token", "wrong-key");
        var missing = await CliRun.RunAsync(server.Url, "jobs");
        var right = await new CliRun(server.Url, new Dictionary<string, string> { ["BERTH_TOKEN"] = "right-key" }).RunAsync("jobs");

        Assert.Equal(BerthCommands.Error, wrong.Exit);
        Assert.Contains("error: 401 Unauthorized", wrong.Err, StringComparison.Ordinal);
        Assert.Contains("check the API key given with --token or BERTH_TOKEN", wrong.Err, StringComparison.Ordinal);
        Assert.Equal(BerthCommands.Error, missing.Exit);
        Assert.Contains("pass --token or set BERTH_TOKEN", missing.Err, StringComparison.Ordinal);
        Assert.True(right.Exit == BerthCommands.Pass, right.Err);
    }
}
