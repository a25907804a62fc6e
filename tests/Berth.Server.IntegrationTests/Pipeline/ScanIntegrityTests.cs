using System.Net.Http.Json;
using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;

namespace Berth.Server.IntegrationTests.Pipeline;

/// <summary>A Berth whose scans read at most 1 MiB per package database, with the default (failing) integrity policy.</summary>
public sealed class IntegrityServer : IAsyncLifetime
{
    public BerthProcess Server { get; private set; } = null!;

    public BerthApi Api => new(Server.Client);

    public async Task InitializeAsync() =>
        Server = await BerthProcess.StartAsync(TempRoot.Create("scan-integrity"), new Dictionary<string, string>(BerthFixture.Settings)
        {
            ["Scan:MaxFileMb"] = "1",
        });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// An image cannot make its scan pass by hiding its package database: a link, a deletion beside dpkg, an
/// oversized or malformed file, an edited os-release, a link meant to lead the host's reader outside the
/// layer. Each is a failed job with <c>scan_incomplete</c> naming what could not be read, or a plainly
/// reported coverage gap — never a silent "clean".
/// </summary>
public sealed class ScanIntegrityTests(IntegrityServer server) : IClassFixture<IntegrityServer>
{
    private const string Done = "CMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n";

    private async Task<JobView> RunDebianAsync(string run) =>
        await server.Api.RunAsync($"FROM debian:bookworm-slim\nRUN {run}\n{Done}");

    [Theory]
    [InlineData("mv /var/lib/dpkg/status /var/lib/dpkg/status.real && ln -s status.real /var/lib/dpkg/status", "/var/lib/dpkg/status is a symbolic link")]
    [InlineData("rm /var/lib/dpkg/status", "was removed by layer sha256:")]
    [InlineData("rm /var/lib/dpkg/status /usr/bin/dpkg", "was removed by layer sha256:")]
    [InlineData("mv /var/lib/dpkg /var/lib/dpkg-real && ln -s dpkg-real /var/lib/dpkg", "was removed by layer sha256:")]
    [InlineData("dd if=/dev/zero bs=1M count=2 >> /var/lib/dpkg/status", "/var/lib/dpkg/status is larger than the 1 MiB a package file may have (Scan:MaxFileMb)")]
    [InlineData("echo 'not a dpkg database' > /var/lib/dpkg/status", "/var/lib/dpkg/status could not be read as a package database")]
    [InlineData(": > /var/lib/dpkg/status", "/var/lib/dpkg/status is empty")]
    public async Task Scan_HiddenDpkgDatabase_FailsScanIncomplete(string run, string expected)
    {
        var job = await RunDebianAsync(run);

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(FailureReasons.ScanIncomplete, job.Failure?.Reason);
        Assert.Contains(expected, job.Failure?.Message, StringComparison.Ordinal);
        Assert.Equal(ScanStatus.Incomplete, job.Scan?.Status);
        Assert.Contains(job.Scan!.Incomplete!, p => p.Contains(expected, StringComparison.Ordinal));
        Assert.Equal(StageStatus.Skipped, job.Stages.Single(s => s.Name == "run").Status);
    }

    [Theory]
    [InlineData("sed -i 's/^VERSION_ID=.*/VERSION_ID=\"99\"/' /usr/lib/os-release", "debian 99 is not covered")]
    [InlineData("printf 'ID=myos\\nVERSION_ID=1\\n' > /usr/lib/os-release", "myos 1 is not covered")]
    [InlineData("rm /usr/lib/os-release /etc/os-release /etc/debian_version", "an image with no os-release (deb packages) is not covered")]
    public async Task Scan_EditedOsRelease_StillMatchesTheDpkgPackagesAgainstDebian(string run, string expected)
    {
        var job = await RunDebianAsync(run);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Contains(expected, job.Scan?.Coverage, StringComparison.Ordinal);
        Assert.Contains("were matched against Debian:11, the nearest covered release", job.Scan?.Coverage, StringComparison.Ordinal);
        Assert.Contains(job.Scan!.Warnings, w => w == job.Scan.Coverage);
        Assert.True(job.Scan.Packages > 50, $"{job.Scan.Packages} packages");
    }

    [Fact]
    public async Task Scan_PlainBookworm_SaysDebian12IsNotCoveredOnTheJob()
    {
        var job = await server.Api.RunAsync($"FROM debian:bookworm-slim\n{Done}");

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.StartsWith("debian 12 is not covered by the advisory database (it has Debian:3.0–Debian:11)", job.Scan?.Coverage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scan_LinksAimedAtTheHost_AreNeverFollowed()
    {
        // On the host, /var/lib/dpkg is Debian's real database (hundreds of packages). In the layer, these links
        // point there; a reader that followed them would list the host's packages.
        var job = await server.Api.RunAsync(
            "FROM busybox:latest\n" +
            "RUN mkdir -p /var/lib /usr/lib/python3/site-packages/x-1.dist-info && ln -s /var/lib/dpkg /var/lib/dpkg && " +
            "ln -s /var/lib/dpkg/status /usr/lib/python3/site-packages/x-1.dist-info/METADATA\n" + Done);

        Assert.Equal(FailureReasons.ScanIncomplete, job.Failure?.Reason);
        Assert.Equal(0, job.Scan?.Packages);
        Assert.Contains("/usr/lib/python3/site-packages/x-1.dist-info/METADATA is a symbolic link", job.Failure?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scan_FortyOversizedPackageJsonFiles_IncompleteWithFlatServerMemory()
    {
        await server.Api.RunAsync($"FROM busybox:latest\n{Done}"); // loads the advisory database first
        var before = server.Server.PeakResidentBytes;

        // This server caps a package.json at 1 MiB (Scan:MaxFileMb=1): 40 files just over it stand for the 40 x 64 MiB
        // case without writing gigabytes to the engine's disk while other tests build beside it.
        var job = await server.Api.RunAsync(
            "FROM busybox:latest\n" +
            "RUN for i in $(seq 40); do mkdir -p /app/node_modules/p$i && truncate -s 1100K /app/node_modules/p$i/package.json; done\n" + Done);

        var growth = server.Server.PeakResidentBytes - before;
        Assert.Equal(FailureReasons.ScanIncomplete, job.Failure?.Reason);
        Assert.Equal(40, job.Scan?.Incomplete?.Count);
        Assert.Contains("larger than the 1 MiB a package file may have", job.Failure?.Message, StringComparison.Ordinal);
        Assert.Contains("and 37 more", job.Failure?.Message, StringComparison.Ordinal);
        Assert.True(growth < 32L * 1024 * 1024, $"peak RSS grew by {growth / (1024 * 1024)} MiB while scanning 40 oversized package.json files");
    }

    [Fact]
    public async Task Scan_SecondJobOnTheSameBase_ReadsOnlyItsOwnLayer()
    {
        var first = await server.Api.RunAsync($"FROM debian:bookworm-slim\nRUN echo first > /first\n{Done}");
        var second = await server.Api.RunAsync($"FROM debian:bookworm-slim\nRUN echo second > /second\n{Done}");

        var stats = await StatsAsync(second.Id);
        Assert.Equal(JobStatus.Succeeded, first.Status);
        Assert.Equal(JobStatus.Succeeded, second.Status);
        Assert.Equal("layers", stats.GetProperty("reader").GetString());
        Assert.Equal(1, stats.GetProperty("layersRead").GetInt32());
        Assert.Equal(1, stats.GetProperty("layersFromCache").GetInt32());
    }

    private async Task<JsonElement> StatsAsync(string id) =>
        (await server.Server.Client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{id}/report")).GetProperty("scan").GetProperty("stats");
}

/// <summary>The operator's other choice: an unreadable package database only warns, and the entry cap stops a scan.</summary>
public sealed class ScanIntegrityWarnOnlyTests
{
    [Fact]
    public async Task Scan_IncompleteFailsFalse_PassesAndStillListsWhatWasNotRead()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("scan-warn"), new Dictionary<string, string>(BerthFixture.Settings)
        {
            ["Scan:IncompleteFails"] = "false",
            ["Scan:MaxEntries"] = "3000",
        });
        var api = new BerthApi(server.Client);

        var linked = api.RunAsync(
            "FROM busybox:latest\nRUN mkdir -p /var/lib/dpkg && echo x > /var/lib/dpkg/real && ln -s real /var/lib/dpkg/status\n" +
            "CMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n");
        var many = api.RunAsync(
            "FROM busybox:latest\nRUN mkdir /many && cd /many && touch $(seq 4000)\n" +
            "CMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n");

        var (link, flood) = (await linked, await many);
        Assert.Equal(JobStatus.Succeeded, link.Status);
        Assert.Equal(ScanStatus.Passed, link.Scan?.Status);
        Assert.Contains(link.Scan!.Incomplete!, p => p.Contains("/var/lib/dpkg/status is a symbolic link", StringComparison.Ordinal));
        Assert.Equal(JobStatus.Succeeded, flood.Status);
        Assert.Contains(flood.Scan!.Incomplete!, p => p.Contains("more than 3,000 files and directories (Scan:MaxEntries)", StringComparison.Ordinal));
    }
}
