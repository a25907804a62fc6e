using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Berth.Cli;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.Cli.Tests;

/// <summary>`berth scan` and `berth db update` as a CI pipeline would call them, on a real engine.</summary>
public sealed class BerthCommandsTests : IAsyncLifetime
{
    private static readonly string VulnerableImage = $"berth-cli-test/urllib3-{Guid.NewGuid().ToString("N")[..8]}:1.26.16";
    private readonly DockerClient _docker = new DockerClientBuilder().WithEndpoint(new Uri("unix:///var/run/docker.sock")).Build();

    private static string VulnDb => RepoPaths.Bundled();

    public async Task InitializeAsync()
    {
        var context = new MemoryStream();
        using (var tar = new TarWriter(context, TarEntryFormat.Pax, leaveOpen: true))
        {
            void Add(string name, string text) =>
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
            Add("Dockerfile", "FROM busybox:latest\nCOPY METADATA /usr/lib/python3/site-packages/urllib3-1.26.16.dist-info/METADATA\n");
            Add("METADATA", "Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.16\n");
        }
        context.Position = 0;
        await _docker.Images.BuildImageFromDockerfileAsync(
            new ImageBuildParameters { Tags = [VulnerableImage], NetworkMode = "none", ForceRemove = true },
            context, null, null, new Progress<JSONMessage>(), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _docker.Images.DeleteImageAsync(VulnerableImage, new ImageDeleteParameters { Force = true });
        _docker.Dispose();
    }

    private static Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => Cli.RunAsync(args);

    [Fact]
    public async Task Scan_VulnerableImage_Exits1AndNamesTheAdvisory()
    {
        var (exit, output, error) = await RunAsync("scan", VulnerableImage, "--db", VulnDb, "--format", "json");

        Assert.Equal(BerthCommands.PolicyFailed, exit);
        var report = JsonDocument.Parse(output).RootElement;
        Assert.True(report.GetProperty("failed").GetBoolean());
        Assert.Contains("PYSEC-2023-192", report.GetProperty("details").EnumerateArray().Select(f => f.GetProperty("advisoryId").GetString()));
        Assert.Contains("PYSEC-2023-192 (high) in urllib3 1.26.16", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scan_FailOnCritical_PassesTheSameImage()
    {
        var (exit, output, _) = await RunAsync("scan", VulnerableImage, "--db", VulnDb, "--fail-on", "critical", "--unknown-severity-fails", "false");

        Assert.Equal(BerthCommands.Pass, exit);
        Assert.Contains("PYSEC-2023-192", output, StringComparison.Ordinal); // the table still lists it
        Assert.Contains("findings: critical 0, high 1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scan_CycloneDx_IsAnSbomOfTheImage()
    {
        var (_, output, _) = await RunAsync("scan", VulnerableImage, "--db", VulnDb, "--format", "cyclonedx");

        var bom = JsonDocument.Parse(output).RootElement;
        Assert.Equal("1.5", bom.GetProperty("specVersion").GetString());
        Assert.Equal(VulnerableImage, bom.GetProperty("metadata").GetProperty("component").GetProperty("name").GetString());
        Assert.Contains("pkg:pypi/urllib3@1.26.16", bom.GetProperty("components").EnumerateArray().Select(c => c.TryGetProperty("purl", out var p) ? p.GetString() : null));
    }

    [Fact]
    public async Task Scan_Sarif_IsOneRunWithTheAdvisoryAsARule()
    {
        var (exit, output, _) = await RunAsync("scan", VulnerableImage, "--db", VulnDb, "--format", "sarif");

        Assert.Equal(BerthCommands.PolicyFailed, exit);
        var run = Assert.Single(JsonDocument.Parse(output).RootElement.GetProperty("runs").EnumerateArray());
        Assert.Equal("Berth", run.GetProperty("tool").GetProperty("driver").GetProperty("name").GetString());
        var result = run.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("ruleId").GetString() == "PYSEC-2023-192");
        Assert.Equal("error", result.GetProperty("level").GetString());
        Assert.Equal("usr/lib/python3/site-packages/urllib3-1.26.16.dist-info/METADATA",
            result.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString());
    }

    [Fact]
    public async Task Scan_NoDatabaseYet_InstallsTheBundledSnapshotAndFindsTheAdvisory()
    {
        var root = Directory.CreateTempSubdirectory("berth-cli-fresh-").FullName;
        try
        {
            var (exit, _, error) = await RunAsync("scan", VulnerableImage, "--db", Path.Combine(root, "vulndb"));

            Assert.Equal(BerthCommands.PolicyFailed, exit);
            Assert.Contains("installed the bundled advisory snapshot", error, StringComparison.Ordinal);
            Assert.Contains("PYSEC-2023-192 (high) in urllib3 1.26.16", error, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(root, "vulndb", "berth-db.json")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Scan_CleanImage_Exits0()
    {
        var (exit, output, _) = await RunAsync("scan", "busybox:latest", "--db", VulnDb);
        Assert.Equal(BerthCommands.Pass, exit);
        Assert.Contains("0 packages", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("scan", "berth-cli-test/absent:0")]
    [InlineData("scan", "busybox:latest", "--format", "xml")]
    [InlineData("scan")]
    [InlineData("frobnicate")]
    [InlineData("db", "update", "--base-url", "http://127.0.0.1:1/", "--db", "/tmp/berth-cli-test-db")]
    public async Task Errors_Exit2WithAMessage(params string[] args)
    {
        var (exit, _, error) = await RunAsync(args);
        Assert.Equal(BerthCommands.Error, exit);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }
}

/// <summary>`berth db import` and the bundled default, as an air-gapped site would use them.</summary>
public sealed class DatabaseCommandsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-cli-db-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string Bundled(params string[] parts) => RepoPaths.Bundled(parts);

    private static Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => Cli.RunAsync(args);

    [Fact]
    public async Task Import_AnOsvZip_InstallsItWithItsSourceAndAge()
    {
        var db = Path.Combine(_root, "vulndb");

        var (exit, output, error) = await RunAsync("db", "import", Bundled("PyPI", "all.zip"), "--db", db);

        Assert.True(exit == BerthCommands.Pass, error);
        Assert.Contains("PyPI: 2661 records", output, StringComparison.Ordinal);
        Assert.Contains("installed import:all.zip", output, StringComparison.Ordinal);
        var loaded = Berth.Scanner.Advisories.AdvisoryDatabase.Load(db);
        Assert.Equal(2661, loaded.Records);
        Assert.Equal("import:all.zip", loaded.Metadata.Source);
        Assert.Equal(2024, loaded.Metadata.DataAsOf?.Year); // the newest record's modified date, not the import time
    }

    [Fact]
    public async Task Import_AFolderOfExports_InstallsEveryEcosystem_AndABrokenOneLeavesItAsItWas()
    {
        var db = Path.Combine(_root, "vulndb");
        var (exit, output, _) = await RunAsync("db", "import", Bundled(), "--db", db);
        Assert.Equal(BerthCommands.Pass, exit);
        Assert.Contains("Debian: 8640 records", output, StringComparison.Ordinal);
        Assert.Contains("Go: 4291 records", output, StringComparison.Ordinal);

        var broken = Path.Combine(_root, "broken.zip");
        await File.WriteAllTextAsync(broken, "not a zip");
        var (failed, _, error) = await RunAsync("db", "import", broken, "--db", db);

        Assert.Equal(BerthCommands.Error, failed);
        Assert.Contains("the database was not changed", error, StringComparison.Ordinal);
        Assert.Equal(18_071, Berth.Scanner.Advisories.AdvisoryDatabase.Load(db).Records);
        Assert.Empty(Directory.GetDirectories(_root, ".vulndb.*")); // no staging folder left behind
    }

    [Theory]
    [InlineData("/nonexistent/berth-export.zip")]
    [InlineData("")]
    public async Task Import_NothingThere_Exits2(string source)
    {
        var (exit, _, error) = await RunAsync("db", "import", source, "--db", Path.Combine(_root, "vulndb"));
        Assert.Equal(BerthCommands.Error, exit);
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.False(Directory.Exists(Path.Combine(_root, "vulndb")));
    }
}
