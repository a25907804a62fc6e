using System.Formats.Tar;
using System.Text;
using Berth.Scanner.Packages;
using Berth.Scanner;
using Berth.Scanner.Advisories;
using Berth.Scanner.Layers;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.Cli.Tests;

/// <summary>
/// The scanner's two ways into a real image on the local engine — its overlay2 layer directories and the
/// saved-image stream — see the same filesystem: whiteouts and opaque directories honoured by both, and the
/// per-layer cache gives it back without reading.
/// </summary>
public sealed class LayerReadersTests : IAsyncLifetime
{
    private static readonly string Suffix = Guid.NewGuid().ToString("N")[..8];
    private static readonly string Image = $"berth-cli-test/whiteouts-{Suffix}:1";
    private static readonly string GoImage = $"berth-cli-test/go-app-{Suffix}:1";
    private readonly DockerClient _docker = new DockerClientBuilder().WithEndpoint(new Uri("unix:///var/run/docker.sock")).Build();
    private readonly string _cache = Directory.CreateTempSubdirectory("berth-cli-cache-").FullName;

    public async Task InitializeAsync()
    {
        const string dockerfile =
            "FROM busybox:latest\n" +
            "RUN mkdir -p /var/lib/dpkg /usr/lib/python3/site-packages/gone-1.dist-info /opt/a/node_modules/old && " +
            "printf 'Package: a\\nStatus: install ok installed\\nVersion: 1\\n\\n' > /var/lib/dpkg/status && " +
            "printf 'Name: gone\\nVersion: 1\\n' > /usr/lib/python3/site-packages/gone-1.dist-info/METADATA && " +
            "echo '{\"name\":\"old\",\"version\":\"1.0.0\"}' > /opt/a/node_modules/old/package.json\n" +
            "RUN rm -rf /usr/lib/python3/site-packages/gone-1.dist-info /opt/a && mkdir -p /opt/a/node_modules/new && " +
            "echo '{\"name\":\"new\",\"version\":\"2.0.0\"}' > /opt/a/node_modules/new/package.json && " +
            "printf 'Package: b\\nStatus: install ok installed\\nVersion: 2\\n\\n' >> /var/lib/dpkg/status\n";
        var context = new MemoryStream();
        using (var tar = new TarWriter(context, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "Dockerfile") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(dockerfile)) });
        }
        context.Position = 0;
        await _docker.Images.BuildImageFromDockerfileAsync(
            new ImageBuildParameters { Tags = [Image], NetworkMode = "none", ForceRemove = true },
            context, null, null, new Progress<JSONMessage>(), CancellationToken.None);

        // A real Go program (vendored golang.org/x/text v0.3.5), built here with Debian's Go, copied into an image.
        var goContext = new MemoryStream();
        using (var tar = new TarWriter(goContext, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "Dockerfile")
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes("FROM busybox:latest\nCOPY app /usr/local/bin/app\n")),
            });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "app")
            {
                DataStream = File.OpenRead(BuildGoProgram()),
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            });
        }
        goContext.Position = 0;
        await _docker.Images.BuildImageFromDockerfileAsync(
            new ImageBuildParameters { Tags = [GoImage], NetworkMode = "none", ForceRemove = true },
            goContext, null, null, new Progress<JSONMessage>(), CancellationToken.None);
    }

    private string BuildGoProgram()
    {
        var source = Path.Combine(RepoPaths.Root, "tests", "Berth.Scanner.Tests", "testdata", "go", "app");
        var output = Path.Combine(_cache, "app");
        var start = new System.Diagnostics.ProcessStartInfo("go", ["build", "-o", output, "."]) { WorkingDirectory = source, RedirectStandardError = true };
        foreach (var (name, value) in new Dictionary<string, string>
        {
            ["GOFLAGS"] = "-mod=vendor", ["GOPROXY"] = "off", ["GOSUMDB"] = "off", ["GOTOOLCHAIN"] = "local", ["GOWORK"] = "off",
            ["CGO_ENABLED"] = "0", ["GOCACHE"] = Path.Combine(_cache, "gocache"), ["GOPATH"] = Path.Combine(_cache, "gopath"),
        })
        {
            start.Environment[name] = value;
        }
        using var go = System.Diagnostics.Process.Start(start)
            ?? throw new InvalidOperationException("`go` could not be started: ./test.sh installs Debian's golang-go");
        var error = go.StandardError.ReadToEnd();
        go.WaitForExit();
        return go.ExitCode == 0 ? output : throw new InvalidOperationException($"go build failed: {error}");
    }

    public async Task DisposeAsync()
    {
        await _docker.Images.DeleteImageAsync(Image, new ImageDeleteParameters { Force = true });
        await _docker.Images.DeleteImageAsync(GoImage, new ImageDeleteParameters { Force = true });
        _docker.Dispose();
        Directory.Delete(_cache, recursive: true);
    }

    private async Task<ScanOutcome> ScanAsync(bool directories, LayerCache? cache, string? image = null, AdvisoryDatabase? database = null)
    {
        image ??= Image;
        var inspect = await _docker.Images.InspectImageAsync(image);
        var layout = ImageLayout.FromInspect(inspect.RootFS?.Layers, directories ? inspect.GraphDriver?.Name : null, inspect.GraphDriver?.Data);
        var request = new ScanRequest(image, layout, async token => new EndTolerantStream(await _docker.Images.SaveImageAsync(inspect.ID, token)));
        return await new ImageScan(database ?? AdvisoryDatabase.Empty("none"), cache, TimeProvider.System).RunAsync(request, ScanSettings.Default, CancellationToken.None);
    }

    private static List<string> Packages(ScanOutcome outcome) =>
        outcome.Result.Packages.Select(p => $"{p.Type.ToWire()} {p.Name} {p.Version} {p.Location.Layer} {p.Location.Path}").Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task LayerDirectoriesAndSavedStream_SeeTheSameFilesystem()
    {
        var stream = await ScanAsync(directories: false, cache: null);
        var layers = await ScanAsync(directories: true, cache: null);

        Assert.Equal("stream", stream.Stats.Reader);
        Assert.Equal("layers", layers.Stats.Reader);
        Assert.Equal(["a", "b", "new"], layers.Result.Packages.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(Packages(stream), Packages(layers));
        Assert.Empty(layers.Result.Problems);
    }

    [Fact]
    public async Task Cache_SecondScanReadsNothing_AndGivesTheSameResult()
    {
        var cache = new LayerCache(_cache, 64L << 20, TimeProvider.System);
        var first = await ScanAsync(directories: true, cache);
        var second = await ScanAsync(directories: true, cache);

        Assert.Equal("layers", first.Stats.Reader);
        Assert.Equal("cache", second.Stats.Reader);
        Assert.Equal(0, second.Stats.LayersRead);
        Assert.Equal(first.Stats.LayersRead, second.Stats.LayersFromCache);
        Assert.Equal(Packages(first), Packages(second));
        Assert.True(cache.Hits >= first.Stats.LayersRead);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task GoProgramInAnImage_ItsModulesAndStdlibAreMatched(bool directories)
    {
        var database = AdvisoryDatabase.Load(RepoPaths.Bundled());

        var outcome = await ScanAsync(directories, cache: null, GoImage, database);

        Assert.Equal(directories ? "layers" : "stream", outcome.Stats.Reader);
        var packages = outcome.Result.Packages.Where(p => p.Location.Path == "/usr/local/bin/app").Select(p => $"{p.Name} {p.Version}").ToList();
        Assert.Contains("golang.org/x/text 0.3.5", packages);
        Assert.Contains(packages, p => p.StartsWith("stdlib 1.19.", StringComparison.Ordinal));
        Assert.Equal(ScanDecision.Vulnerable, outcome.Decision);
        Assert.Contains(outcome.Result.Findings, f => f.AdvisoryId == "GO-2021-0113" && f.Package.Name == "golang.org/x/text");
    }
}
