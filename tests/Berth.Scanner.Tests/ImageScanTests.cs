using Berth.Scanner.Layers;
using Berth.Scanner.Tests.Layers;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Scanner.Tests;

/// <summary>The one scan entry point: decisions, the timeout (on fake time), budgets, unreadable images, and where layers come from.</summary>
[Collection(VulnDbCollection.Name)]
public sealed class ImageScanTests(VulnDbFixture db) : IDisposable
{
    private const string Debian11 = "ID=debian\nVERSION_ID=11\n";
    private const string VulnerableOpenssl = "Package: libssl1.1\nStatus: install ok installed\nSource: openssl\nVersion: 1.1.1n-0+deb11u3\n";
    private const string HarmlessPackage = "Package: berth-test-nothing\nStatus: install ok installed\nVersion: 1.0-1\n";
    private const string Metadata = "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 10, 12, 0, 0, TimeSpan.Zero));
    private readonly TempFolder _temp = new("berth-imagescan-");

    public void Dispose() => _temp.Dispose();

    private ImageScan Scanner(LayerCache? cache = null) => new(db.Database, cache, _time);

    private static ScanRequest Request(params TarLayer[] layers)
    {
        var tars = layers.Select(l => l.Tar()).ToArray();
        var saved = SavedImage.Of(tars).ToArray();
        return new ScanRequest("berth/test", new ImageLayout(tars.Select(TarLayer.DiffId).ToList(), null),
            _ => Task.FromResult<Stream>(new MemoryStream(saved)));
    }

    private static TarLayer Base(string status) => new TarLayer().File("etc/os-release", Debian11).File("var/lib/dpkg/status", status).File("usr/bin/dpkg", "ELF");

    [Fact]
    public async Task RunAsync_CleanImage_PassesWithNoMessage()
    {
        var outcome = await Scanner().RunAsync(Request(Base(HarmlessPackage)), ScanSettings.Default, CancellationToken.None);

        Assert.Equal(ScanDecision.Passed, outcome.Decision);
        Assert.Null(outcome.Message);
        Assert.Empty(outcome.Result.Problems);
        Assert.Equal("berth-test-nothing", Assert.Single(outcome.Result.Packages).Name);
        Assert.Equal(("stream", 1, 0), (outcome.Stats.Reader, outcome.Stats.LayersRead, outcome.Stats.LayersFromCache));
        Assert.Equal(outcome.Stats, outcome.Report.Stats);
    }

    private static string GitHubToken() =>
        "ghp_" + System.Security.Cryptography.RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);

    [Theory]
    [InlineData(SecretsMode.Warn, ScanDecision.Passed)]
    [InlineData(SecretsMode.Fail, ScanDecision.SecretsFound)]
    public async Task RunAsync_SecretInTheImagesOwnLayer_IsReportedMaskedAndDecidedByTheMode(SecretsMode mode, ScanDecision expected)
    {
        var token = GitHubToken();
        var request = Request(Base(HarmlessPackage), new TarLayer().File("app/.env", $"TOKEN={token}\n"));

        var outcome = await Scanner().RunAsync(request, ScanSettings.Default with { Secrets = mode }, CancellationToken.None);

        Assert.Equal(expected, outcome.Decision);
        var secret = Assert.Single(outcome.Result.SecretsFound);
        Assert.Equal(("github-pat", "/app/.env", 1, "ghp_*****"), (secret.RuleId, secret.Location.Path, secret.Line, secret.Masked));
        Assert.Equal(request.Layout.DiffIds[1], secret.Location.Layer);
        Assert.Contains(outcome.Result.Warnings.Concat([outcome.Message ?? ""]), w => w.Contains("1 secret(s) in the image's own layers", StringComparison.Ordinal));
        Assert.DoesNotContain(token[4..], System.Text.Json.JsonSerializer.Serialize(outcome.Report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_SecretInABaseLayer_IsNotTheImagesAndOffSearchesNothing()
    {
        var request = Request(Base(HarmlessPackage).File("etc/app/.env", $"TOKEN={GitHubToken()}\n"), new TarLayer().File("app/x", "x"));
        var baseOnly = request with { BaseLayers = new HashSet<string> { request.Layout.DiffIds[0] } };

        var fromBase = await Scanner().RunAsync(baseOnly, ScanSettings.Default with { Secrets = SecretsMode.Fail }, CancellationToken.None);
        var off = await Scanner().RunAsync(request, ScanSettings.Default with { Secrets = SecretsMode.Off }, CancellationToken.None);
        var all = await Scanner().RunAsync(request, ScanSettings.Default with { Secrets = SecretsMode.Fail }, CancellationToken.None);

        Assert.Equal(ScanDecision.Passed, fromBase.Decision);
        Assert.Empty(fromBase.Result.SecretsFound);
        Assert.Empty(off.Result.SecretsFound);
        Assert.Equal(ScanDecision.SecretsFound, all.Decision);
    }

    [Fact]
    public async Task RunAsync_VulnerableAndIncomplete_VulnerableWins()
    {
        var request = Request(Base(VulnerableOpenssl), new TarLayer().Symlink(Metadata, "/etc/shadow"));

        var outcome = await Scanner().RunAsync(request, ScanSettings.Default, CancellationToken.None);

        Assert.Equal(ScanDecision.Vulnerable, outcome.Decision);
        Assert.Contains("DSA-5343-1", outcome.Message, StringComparison.Ordinal);
        Assert.NotEmpty(outcome.Result.Problems);
        Assert.Equal(outcome.Result.Problems, outcome.Report.Incomplete);
        Assert.True(outcome.Report.Failed);
    }

    [Fact]
    public async Task RunAsync_UnreadableDatabase_IsIncompleteNamingTheSetting()
    {
        var request = Request(Base(HarmlessPackage), new TarLayer().Symlink("var/lib/dpkg/status", "/etc/shadow"));

        var outcome = await Scanner().RunAsync(request, ScanSettings.Default, CancellationToken.None);

        Assert.Equal(ScanDecision.Incomplete, outcome.Decision);
        Assert.StartsWith("the scan is incomplete: /var/lib/dpkg/status is a symbolic link (layer sha256:", outcome.Message, StringComparison.Ordinal);
        Assert.EndsWith("(Scan:IncompleteFails)", outcome.Message, StringComparison.Ordinal);
        Assert.False(outcome.Verdict.Failed);
    }

    [Fact]
    public async Task RunAsync_ManyProblems_MessageListsThreeAndCountsTheRest()
    {
        var upper = new TarLayer();
        for (var i = 0; i < 5; i++)
        {
            upper.Symlink($"usr/lib/python3/dist-packages/p{i}-1.0.dist-info/METADATA", "/x");
        }

        var outcome = await Scanner().RunAsync(Request(Base(HarmlessPackage), upper), ScanSettings.Default, CancellationToken.None);

        Assert.Equal(5, outcome.Result.Problems.Count);
        Assert.EndsWith("; and 2 more (Scan:IncompleteFails)", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("p2-1.0.dist-info", outcome.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("p3-1.0.dist-info", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_IncompleteFailsOff_PassesWithTheProblemsInTheReport()
    {
        var request = Request(Base(HarmlessPackage), new TarLayer().Symlink("var/lib/dpkg/status", "/etc/shadow"));

        var outcome = await Scanner().RunAsync(request, ScanSettings.Default with { IncompleteFails = false }, CancellationToken.None);

        Assert.Equal(ScanDecision.Passed, outcome.Decision);
        Assert.Null(outcome.Message);
        Assert.Contains(outcome.Report.Incomplete, p => p.StartsWith("/var/lib/dpkg/status is a symbolic link", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_UncoveredReleaseFails_IsIncompleteWithTheCoverageMessage()
    {
        var request = Request(new TarLayer().File("etc/os-release", "ID=debian\nVERSION_ID=12\n").File("var/lib/dpkg/status", HarmlessPackage));

        var outcome = await Scanner().RunAsync(request, ScanSettings.Default with { UncoveredReleaseFails = true }, CancellationToken.None);

        Assert.Equal(ScanDecision.Incomplete, outcome.Decision);
        Assert.Equal($"{outcome.Result.Coverage!.Message} (Scan:UncoveredReleaseFails)", outcome.Message);
        Assert.StartsWith("debian 12 is not covered", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_UncoveredReleaseAllowed_PassesWithTheCoverageInTheReport()
    {
        var request = Request(new TarLayer().File("etc/os-release", "ID=debian\nVERSION_ID=12\n").File("var/lib/dpkg/status", HarmlessPackage));

        var outcome = await Scanner().RunAsync(request, ScanSettings.Default, CancellationToken.None);

        Assert.Equal(ScanDecision.Passed, outcome.Decision);
        Assert.Equal("Debian:11", outcome.Report.Coverage!.MatchedAs);
        Assert.Contains(outcome.Report.Coverage.Message, outcome.Report.Warnings);
    }

    [Fact]
    public async Task RunAsync_StreamStalledPastTheTimeout_FailsNamingTheSetting()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = new ScanRequest("berth/stalled", new ImageLayout([], null), _ => Task.FromResult<Stream>(new StalledStream(started)));
        var settings = ScanSettings.Default with { Timeout = TimeSpan.FromSeconds(30) };

        var scan = Scanner().RunAsync(request, settings, CancellationToken.None);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _time.Advance(TimeSpan.FromSeconds(29));
        await Task.Yield();
        Assert.False(scan.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(2));
        var e = await Assert.ThrowsAsync<ScanFailedException>(() => scan.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("the scan took longer than 30 s (Scan:TimeoutSeconds)", e.Message);
    }

    [Fact]
    public async Task RunAsync_CallerCancels_ThrowsOperationCanceledNotAScanFailure()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = new ScanRequest("berth/stalled", new ImageLayout([], null), _ => Task.FromResult<Stream>(new StalledStream(started)));
        using var caller = new CancellationTokenSource();

        var scan = Scanner().RunAsync(request, ScanSettings.Default, caller.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await caller.CancelAsync();

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scan.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(e.CancellationToken.IsCancellationRequested);
        Assert.Equal(0, _time.GetUtcNow().CompareTo(new DateTimeOffset(2026, 9, 10, 12, 0, 0, TimeSpan.Zero))); // no time passed: not a timeout
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("no manifest")]
    [InlineData("bad manifest")]
    [InlineData("short garbage")]
    [InlineData("truncated")]
    [InlineData("truncated layer")]
    public async Task RunAsync_UnreadableSavedImage_FailsTheScan(string kind)
    {
        var whole = SavedImage.Bytes(Base(HarmlessPackage).File("usr/share/doc/big", new string('x', 8192)));
        var bytes = kind switch
        {
            "garbage" => Enumerable.Range(0, 2048).Select(i => (byte)(i * 31 % 251)).ToArray(),
            "short garbage" => "not a tar"u8.ToArray(),
            "truncated" => whole[..(whole.Length / 2)],
            "truncated layer" => SavedImage.Bytes(new TarLayer().File("etc/os-release", Debian11))[..700],
            "no manifest" => OuterTar(("000/layer.tar", new TarLayer().File("etc/os-release", Debian11).Tar())),
            _ => OuterTar(("manifest.json", "{\"not\": \"an array\"}"u8.ToArray())),
        };
        var request = new ScanRequest("berth/broken", new ImageLayout([], null), _ => Task.FromResult<Stream>(new MemoryStream(bytes)));

        var e = await Assert.ThrowsAsync<ScanFailedException>(() => Scanner().RunAsync(request, ScanSettings.Default, CancellationToken.None));

        Assert.StartsWith("the image could not be read for scanning: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_EntryBudgetExceeded_IsIncompleteAndSaysTheScanStopped()
    {
        var settings = ScanSettings.Default with { Limits = ScanLimits.Default with { MaxEntries = 2 } };

        var outcome = await Scanner().RunAsync(Request(Base(VulnerableOpenssl)), settings, CancellationToken.None);

        Assert.Equal(ScanDecision.Incomplete, outcome.Decision);
        Assert.Equal("the scan stopped: the image has more than 2 files and directories (Scan:MaxEntries)", Assert.Single(outcome.Result.Problems));
        Assert.Contains("the scan stopped", outcome.Message, StringComparison.Ordinal);
        Assert.Empty(outcome.Result.Packages); // nothing half-read is reported as the image's content
        Assert.Equal("stopped", outcome.Stats.Reader);
    }

    [Fact]
    public async Task RunAsync_SecondScanOfTheSameLayers_ComesFromTheCache()
    {
        var cache = new LayerCache(_temp["cache"], 64 * 1024 * 1024, _time);
        var opened = 0;
        var tars = new[] { Base(VulnerableOpenssl).Tar(), new TarLayer().File(Metadata, "Name: six\nVersion: 1.16.0\n").Tar() };
        var saved = SavedImage.Of(tars).ToArray();
        var ids = tars.Select(TarLayer.DiffId).ToList();
        var request = new ScanRequest("berth/cached", new ImageLayout(ids, null), _ =>
        {
            opened++;
            return Task.FromResult<Stream>(new MemoryStream(saved));
        });

        var first = await Scanner(cache).RunAsync(request, ScanSettings.Default, CancellationToken.None);
        var second = await Scanner(cache).RunAsync(request, ScanSettings.Default, CancellationToken.None);

        Assert.Equal(1, opened);
        Assert.Equal(("stream", 2, 0), (first.Stats.Reader, first.Stats.LayersRead, first.Stats.LayersFromCache));
        Assert.Equal(("cache", 0, 2), (second.Stats.Reader, second.Stats.LayersRead, second.Stats.LayersFromCache));
        Assert.Equal(first.Result.Packages.Select(p => p.Purl), second.Result.Packages.Select(p => p.Purl));
        Assert.Equal(first.Decision, second.Decision);
        Assert.Equal(2, cache.Hits);
    }

    [Fact]
    public async Task RunAsync_LayerDirectories_AreReadInsteadOfTheStream()
    {
        Assert.True(LayerDirectoryReader.IsSupported, "this kernel has no openat2");
        var lower = Directory.CreateDirectory(_temp["lower"]).FullName;
        var upper = Directory.CreateDirectory(_temp["upper"]).FullName;
        Directory.CreateDirectory(Path.Combine(lower, "etc"));
        Directory.CreateDirectory(Path.Combine(lower, "var/lib/dpkg"));
        await File.WriteAllTextAsync(Path.Combine(lower, "etc/os-release"), Debian11);
        await File.WriteAllTextAsync(Path.Combine(lower, "var/lib/dpkg/status"), HarmlessPackage);
        Directory.CreateDirectory(Path.Combine(upper, "var/lib/dpkg"));
        await File.WriteAllTextAsync(Path.Combine(upper, "var/lib/dpkg/status"), VulnerableOpenssl);
        var ids = new List<string> { "sha256:" + new string('1', 64), "sha256:" + new string('2', 64) };
        var request = new ScanRequest("berth/dirs", new ImageLayout(ids, [lower, upper]),
            _ => throw new InvalidOperationException("the stream must not be opened"));

        var outcome = await Scanner().RunAsync(request, ScanSettings.Default, CancellationToken.None);

        Assert.Equal(("layers", 2), (outcome.Stats.Reader, outcome.Stats.LayersRead));
        Assert.Equal(ScanDecision.Vulnerable, outcome.Decision);
        Assert.Equal(ids[1], Assert.Single(outcome.Result.Packages).Location.Layer);
    }

    [Fact]
    public void FromInspect_Overlay2_ListsLayerDirectoriesBottomToTop()
    {
        var layout = ImageLayout.FromInspect(["sha256:a", "sha256:b", "sha256:c"], "overlay2", new Dictionary<string, string>
        {
            ["LowerDir"] = "/var/lib/docker/overlay2/b/diff:/var/lib/docker/overlay2/a/diff",
            ["UpperDir"] = "/var/lib/docker/overlay2/c/diff",
        });

        Assert.Equal(["sha256:a", "sha256:b", "sha256:c"], layout.DiffIds);
        Assert.Equal(["/var/lib/docker/overlay2/a/diff", "/var/lib/docker/overlay2/b/diff", "/var/lib/docker/overlay2/c/diff"], layout.LayerDirectories);
    }

    [Fact]
    public void FromInspect_SingleLayerWithNoLowerDir_UsesTheUpperDir()
    {
        var layout = ImageLayout.FromInspect(["sha256:a"], "overlay2", new Dictionary<string, string> { ["UpperDir"] = "/d/a/diff" });

        Assert.Equal(["/d/a/diff"], layout.LayerDirectories);
    }

    [Theory]
    [InlineData("overlay2", "/d/b/diff", "/d/c/diff")]             // two directories for three layers
    [InlineData("overlay2", "/d/a/diff:d/b/diff", "/d/c/diff")]    // a relative path
    [InlineData("overlay2", "/d/a/diff:/d/../etc/diff", "/d/c/diff")]
    [InlineData("overlay2", "/d/a/diff:/d/b/diff", "")]
    [InlineData("btrfs", "/d/a/diff:/d/b/diff", "/d/c/diff")]
    public void FromInspect_AnythingDoubtful_LeavesTheDirectoriesOut(string driver, string lower, string upper)
    {
        var layout = ImageLayout.FromInspect(["sha256:a", "sha256:b", "sha256:c"], driver,
            new Dictionary<string, string> { ["LowerDir"] = lower, ["UpperDir"] = upper });

        Assert.Null(layout.LayerDirectories);
        Assert.Equal(3, layout.DiffIds.Count);
    }

    private static byte[] OuterTar(params (string Name, byte[] Content)[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(stream, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }
        return stream.ToArray();
    }

    /// <summary>A saved-image stream that never yields a byte: each read waits until it is canceled.</summary>
    private sealed class StalledStream(TaskCompletionSource started) : ReadOnlyStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return 0;
        }
    }
}
