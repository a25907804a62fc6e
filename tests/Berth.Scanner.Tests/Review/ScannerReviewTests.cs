using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Berth.Scanner.Layers;
using Berth.Scanner.Packages;
using Berth.Scanner.Secrets;
using Berth.Scanner.Tests.Catalogers.Go;
using Berth.Scanner.Tests.Layers;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Scanner.Tests.Review;

/// <summary>
/// Security review of the rewritten scanner (branch h-review). Each test states what a hostile image
/// should NOT achieve; a failing test is a finding (see the review report).
/// </summary>
[Collection(VulnDbCollection.Name)]
public sealed partial class ScannerReviewTests(VulnDbFixture db) : IDisposable
{
    private const string Debian11 = "ID=debian\nVERSION_ID=11\n";
    private const string VulnerableOpenssl = "Package: libssl1.1\nStatus: install ok installed\nSource: openssl\nVersion: 1.1.1n-0+deb11u3\n";
    private const string HarmlessPackage = "Package: berth-test-nothing\nStatus: install ok installed\nVersion: 1.0-1\n";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 10, 12, 0, 0, TimeSpan.Zero));
    private readonly TempFolder _temp = new("berth-review-");

    public void Dispose() => _temp.Dispose();

    private ImageScan Scanner(LayerCache? cache = null) => new(db.Database, cache, _time);

    private static TarLayer Base(string status) =>
        new TarLayer().File("etc/os-release", Debian11).File("var/lib/dpkg/status", status).File("usr/bin/dpkg", "ELF");

    /// <summary>A request over a saved image whose outer tar holds the layers in <paramref name="streamOrder"/> (docker save writes them sorted by id, not bottom to top).</summary>
    private static ScanRequest Request(byte[][] tars, int[]? streamOrder = null)
    {
        var names = tars.Select((_, i) => $"{i:D3}/layer.tar").ToArray();
        var config = JsonSerializer.SerializeToUtf8Bytes(new { rootfs = new { type = "layers", diff_ids = tars.Select(TarLayer.DiffId).ToArray() } });
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new[] { new { Config = "config.json", Layers = names } });
        var order = streamOrder ?? Enumerable.Range(0, tars.Length).ToArray();
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var i in order)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, names[i]) { DataStream = new MemoryStream(tars[i]) });
            }
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "config.json") { DataStream = new MemoryStream(config) });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream(manifest) });
        }
        var saved = stream.ToArray();
        return new ScanRequest("berth/review", new ImageLayout(tars.Select(TarLayer.DiffId).ToList(), null),
            _ => Task.FromResult<Stream>(new MemoryStream(saved)));
    }

    private static ScanRequest Request(params TarLayer[] layers) => Request(layers.Select(l => l.Tar()).ToArray());

    private static string GitHubToken() =>
        "ghp_" + System.Security.Cryptography.RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);

    // ---- 1. whiteout names that erase the whole image ------------------------------------------------

    [Theory]
    [InlineData(".wh.")]          // whiteout of "" → RemoveUnder(files, "") removes every path
    [InlineData("./.wh.")]
    [InlineData(".wh..wh..opq")]  // opaque marker at the root → every lower layer dropped
    public async Task RunAsync_WhiteoutOfTheRoot_DoesNotHideTheVulnerablePackages(string name)
    {
        var request = Request(Base(VulnerableOpenssl), new TarLayer().File(name, ""));

        var outcome = await Scanner().RunAsync(request, ScanSettings.Default, CancellationToken.None);

        Assert.NotEqual(ScanDecision.Passed, outcome.Decision); // today: Passed, 0 packages, no warning, no problem
    }

    [Fact]
    public async Task LayerDirectoryReader_RegularFileNamedLikeAWhiteout_IsNotAWhiteout()
    {
        // overlayfs whiteouts are 0/0 character devices; a regular file called .wh.x deletes nothing at run time.
        var lower = _temp["lower"];
        var upper = _temp["upper"];
        Directory.CreateDirectory(Path.Combine(lower, "app/node_modules/lodash"));
        await File.WriteAllTextAsync(Path.Combine(lower, "app/node_modules/lodash/package.json"), "{\"name\":\"lodash\",\"version\":\"4.17.15\"}");
        Directory.CreateDirectory(Path.Combine(upper, "app/node_modules/lodash"));
        await File.WriteAllTextAsync(Path.Combine(upper, "app/node_modules/lodash/.wh.package.json"), "");
        await File.WriteAllTextAsync(Path.Combine(upper, ".wh."), "");
        var budget = new ScanBudget(ScanLimits.Default);

        var merged = LayerMerger.Merge([
            await LayerDirectoryReader.ReadAsync(lower, "sha256:lower", budget, secrets: false, CancellationToken.None),
            await LayerDirectoryReader.ReadAsync(upper, "sha256:upper", budget, secrets: false, CancellationToken.None)]);

        Assert.NotNull(merged.Files.Get("app/node_modules/lodash/package.json"));
    }

    // ---- 2. a backslash is not a path separator on Linux ----------------------------------------------

    [Fact]
    public async Task RunAsync_FileNamedWithBackslashes_DoesNotReplaceTheRealStatus()
    {
        // /var\lib\dpkg\status is one file at the root; the real /var/lib/dpkg/status is untouched at run time.
        var request = Request(Base(VulnerableOpenssl), new TarLayer().File("var\\lib\\dpkg\\status", HarmlessPackage));

        var outcome = await Scanner().RunAsync(request, ScanSettings.Default, CancellationToken.None);

        Assert.Equal(ScanDecision.Vulnerable, outcome.Decision); // today: Passed
    }

    // ---- 3. an Alpine image with a Debian os-release and a token dpkg status ----------------------------

    [Fact]
    public async Task RunAsync_DebianOsReleaseOverAnApkDatabase_StillMatchesTheApkPackagesAsAlpine()
    {
        var alpine = new TarLayer()
            .File("etc/alpine-release", "3.11.6\n")
            .File("lib/apk/db/installed", "P:musl\nV:1.1.22-r0\no:musl\n\n")
            .File("sbin/apk", "ELF");
        var disguise = new TarLayer()
            .File("etc/os-release", Debian11)
            .File("var/lib/dpkg/status", HarmlessPackage);

        var control = await Scanner().RunAsync(Request(alpine), ScanSettings.Default, CancellationToken.None);
        var outcome = await Scanner().RunAsync(Request(alpine, disguise), ScanSettings.Default, CancellationToken.None);

        Assert.Contains(control.Result.Findings, f => f.Package.Type == PackageType.Apk);
        Assert.Contains(outcome.Result.Findings, f => f.Package.Type == PackageType.Apk); // today: the apk packages are matched as Debian:11, no finding, no warning
    }

    // ---- 4. the layer cache keeps what one scan's budget did to a shared layer ------------------------

    [Fact]
    public async Task RunAsync_AttackerLayerFirstInTheSavedImage_DoesNotPoisonTheBaseLayerForOtherJobs()
    {
        var cache = new LayerCache(_temp["cache"], 64 * 1024 * 1024, _time);
        var limits = ScanLimits.Default with { MaxTotalBytes = 4096 };
        var settings = ScanSettings.Default with { Limits = limits };
        var baseTar = Base(HarmlessPackage).Tar();
        // A RECORD is read as far as the budget allows and, past it, silently dropped: it fills the budget without a problem.
        var attacker = new TarLayer().File("usr/lib/python3/site-packages/x-1.dist-info/RECORD", new string('r', 4096 - 10) + "\n").Tar();
        var job = new TarLayer().File("app/readme", "hello").Tar();

        // Job A (hostile) is read from the saved-image stream (e.g. it made the directory walk throw an IOException with a
        // directory deeper than PATH_MAX), and its layer comes before the base layer in the stream.
        var a = await Scanner(cache).RunAsync(Request([baseTar, attacker], streamOrder: [1, 0]), settings, CancellationToken.None);

        // Job B (anyone else) on the same base, read from layer directories: the base layer comes from the cache.
        var jobDir = _temp["job"];
        Directory.CreateDirectory(Path.Combine(jobDir, "app"));
        await File.WriteAllTextAsync(Path.Combine(jobDir, "app/readme"), "hello");
        Directory.CreateDirectory(_temp["base-unused"]);
        var ids = new[] { TarLayer.DiffId(baseTar), TarLayer.DiffId(job) };
        var layout = new ImageLayout(ids, [_temp["base-unused"], jobDir]);
        var b = await Scanner(cache).RunAsync(new ScanRequest("victim", layout, _ => throw new InvalidOperationException("not used")), settings, CancellationToken.None);
        var bWithoutCache = await Scanner().RunAsync(Request([baseTar, job]), settings, CancellationToken.None);

        Assert.Equal(ScanDecision.Incomplete, a.Decision); // fair: A's own scan says its budget ran out
        Assert.Equal("layers", b.Stats.Reader);
        Assert.Equal(ScanDecision.Passed, bWithoutCache.Decision);
        Assert.Equal(bWithoutCache.Decision, b.Decision); // today: B is scan_incomplete ("over the 4096 bytes a scan reads in all") while the entry lives
    }

    [Fact]
    public async Task RunAsync_SecretSearchCutByTheBudget_IsNotCachedAsComplete()
    {
        var cache = new LayerCache(_temp["cache"], 64 * 1024 * 1024, _time);
        var settings = ScanSettings.Default with { Limits = ScanLimits.Default with { MaxSecretBytes = 10_000 } };
        var token = GitHubToken();
        var own = new TarLayer().File("app/a-filler.txt", new string('x', 10_000)).File("app/z.env", $"TOKEN={token}\n");
        var request = Request(Base(HarmlessPackage), own);

        var first = await Scanner(cache).RunAsync(request, settings, CancellationToken.None);
        var second = await Scanner(cache).RunAsync(request, settings, CancellationToken.None);

        Assert.Contains(first.Result.Warnings, w => w.Contains("secret search stopped", StringComparison.Ordinal));
        Assert.NotEqual("cache", second.Stats.Reader); // the cut-short layer was not cached: it is searched again
        Assert.Contains(second.Result.Warnings, w => w.Contains("secret search stopped", StringComparison.Ordinal));
    }

    // ---- 5. a secret found in a package file is kept in full in the cache --------------------------

    [Fact]
    public async Task RunAsync_SecretInAPackageFile_IsNotWrittenUnmaskedToTheCache()
    {
        var cache = new LayerCache(_temp["cache"], 64 * 1024 * 1024, _time);
        var token = GitHubToken();
        var own = new TarLayer().File("app/node_modules/x/package.json", $"{{\"name\":\"x\",\"version\":\"1.0.0\",\"description\":\"{token}\"}}");

        var outcome = await Scanner(cache).RunAsync(Request(Base(HarmlessPackage), own), ScanSettings.Default, CancellationToken.None);

        Assert.Single(outcome.Result.SecretsFound);
        var onDisk = Directory.EnumerateFiles(_temp["cache"], "*", SearchOption.AllDirectories).Select(File.ReadAllText).ToList();
        Assert.NotEmpty(onDisk);
        Assert.DoesNotContain(onDisk, text => text.Contains(token, StringComparison.Ordinal) || ContainsInBase64(text, token)); // today: the package.json is cached in full (base64)
    }

    private static bool ContainsInBase64(string json, string secret)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty("Files", out var files) && files.EnumerateObject()
            .Any(f => Encoding.UTF8.GetString(f.Value.GetBytesFromBase64()).Contains(secret, StringComparison.Ordinal));
    }

    // ---- 6. resource bounds ---------------------------------------------------------------------------

    private static byte[] GoProgram(int deps)
    {
        var lines = new StringBuilder("path\texample.com/app\nmod\texample.com/app\tv1.0.0\t\n");
        for (var i = 0; i < deps; i++)
        {
            lines.Append("dep\tm").Append(i).Append("\tv1\n");
        }
        var blob = GoTestFiles.InlineBlob("go1.22.0"u8.ToArray(), GoTestFiles.Frame(lines.ToString()));
        var elf = SyntheticElf.Build(is64: true, bigEndian: false, blob);
        return elf.Length >= 600 * 1024 ? elf : [.. elf, .. new byte[600 * 1024 - elf.Length]];
    }

    [Fact]
    public async Task RunAsync_GoBuildInformation_IsBoundedByTheScanBudget()
    {
        var program = GoProgram(deps: 65_000); // just under the reader's 1 MiB of module information
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            for (var i = 0; i < 8; i++)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"usr/local/bin/app{i}")
                {
                    DataStream = new MemoryStream(program),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
                });
            }
        }
        var settings = ScanSettings.Default with { Limits = ScanLimits.Default with { MaxTotalBytes = 1024 * 1024 } };
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var outcome = await Scanner().RunAsync(Request([Base(HarmlessPackage).Tar(), tar.ToArray()]), settings, CancellationToken.None);

        var after = GC.GetTotalMemory(forceFullCollection: false);
        Assert.True(outcome.Result.Packages.Count < 100_000 || outcome.Result.Problems.Count > 0,
            $"{outcome.Result.Packages.Count} packages from 8 programs ({8 * program.Length / 1024} KiB), {(after - before) / (1024 * 1024)} MiB held, no problem; MaxTotalBytes was 1 MiB");
    }

    [Fact]
    public async Task RunAsync_ThousandsOfSecrets_AreCappedInTheResult()
    {
        var layer = new TarLayer();
        for (var f = 0; f < 500; f++)
        {
            layer.File($"app/t{f}.env", string.Join("\n", Enumerable.Range(0, 20).Select(_ => GitHubToken())));
        }

        var outcome = await Scanner().RunAsync(Request(Base(HarmlessPackage), layer), ScanSettings.Default, CancellationToken.None);

        // 500 files × 20 = 10,000 secrets; 512 MiB of such files would give ~12 million (GiBs in memory, in the report, in the cache).
        Assert.True(outcome.Result.SecretsFound.Count <= 1000, $"{outcome.Result.SecretsFound.Count} secrets kept");
    }

    [Fact]
    public void SecretScanner_PemHeaderThatNeverEnds_TakesLinearTime()
    {
        var text = "-----BEGIN RSA PRIVATE KEY-----\nA:" + new string('a', 60_000) + "\n";
        var watch = Stopwatch.StartNew();

        SecretScanner.Scan("app/key.pem", Encoding.ASCII.GetBytes(text));

        // Measured: 10 k → 0.2–0.4 s, 80 k → 6 s, 1 MiB (the largest file searched) → 90 s, not cancellable by Scan:TimeoutSeconds.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"{watch.Elapsed.TotalSeconds:0.0} s for 60 KB");
    }

    // ---- 7. the directory reader on a path longer than PATH_MAX ----------------------------------------

    [Fact]
    public async Task LayerDirectoryReader_FileWhoseFullPathPassesPathMax_FailsAsIOExceptionOrIsRead()
    {
        var root = Directory.CreateTempSubdirectory("berth-review-deep-").FullName;
        try
        {
            // Directories up to ~3900 bytes of absolute path (opendir works), then a 244-byte name created with openat:
            // FileSystemEntry.ToFullPath() returns "" for it, and full[prefix.Length..] throws ArgumentOutOfRangeException,
            // which ImageScan does not turn into a fallback or a ScanFailedException: the job ends as internal_error.
            var dir = root;
            while (dir.Length < 3900)
            {
                dir = Path.Combine(dir, new string('d', 200));
            }
            Directory.CreateDirectory(dir);
            Assert.True(Native.OpenAt(dir, new string('s', 240) + ".env", $"TOKEN={GitHubToken()}\n"), "could not create the deep file");

            var error = await Record.ExceptionAsync(() =>
                LayerDirectoryReader.ReadAsync(root, "sha256:deep", new ScanBudget(ScanLimits.Default), secrets: true, CancellationToken.None));

            Assert.True(error is null or IOException, $"{error?.GetType().Name}: {error?.Message}");
        }
        finally
        {
            using var rm = Process.Start("rm", ["-rf", root]); // Directory.Delete throws NullReferenceException on this tree
            await rm.WaitForExitAsync();
        }
    }

    private static partial class Native
    {
        [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
        private static partial int open(string path, int flags);

        [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
        private static partial int openat(int dirfd, string path, int flags, int mode);

        [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
        private static partial nint write(int fd, byte[] buffer, nint count);

        [System.Runtime.InteropServices.LibraryImport("libc")]
        private static partial int close(int fd);

        public static bool OpenAt(string directory, string name, string content)
        {
            var dirfd = open(directory, 0x10000); // O_DIRECTORY
            if (dirfd < 0)
            {
                return false;
            }
            try
            {
                var fd = openat(dirfd, name, 0x1 | 0x40, 0x1A4); // O_WRONLY | O_CREAT, 0644
                if (fd < 0)
                {
                    return false;
                }
                var bytes = Encoding.UTF8.GetBytes(content);
                var written = write(fd, bytes, bytes.Length);
                return close(fd) == 0 && written == bytes.Length;
            }
            finally
            {
                _ = close(dirfd);
            }
        }
    }
}
