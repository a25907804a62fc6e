using Berth.Scanner.Advisories;
using Berth.Scanner.Layers;
using Berth.Scanner.Policy;
using Berth.Scanner.Reports;

namespace Berth.Scanner;

/// <summary>
/// Everything that decides a scan's outcome, with one set of defaults for the server and the CLI.
/// <see cref="IncompleteFails"/>: a package database the scan cannot read fails the job (else it warns).
/// <see cref="UncoveredReleaseFails"/>: an OS release the advisory database does not cover fails the job.
/// </summary>
public sealed record ScanSettings(
    ScanPolicy Policy,
    ScanLimits Limits,
    bool IncompleteFails,
    bool UncoveredReleaseFails,
    int MaxDatabaseAgeDays,
    TimeSpan Timeout,
    SecretsMode Secrets = SecretsMode.Warn)
{
    public static readonly ScanSettings Default = new(ScanPolicy.Default, ScanLimits.Default,
        IncompleteFails: true, UncoveredReleaseFails: false, MaxDatabaseAgeDays: 7, Timeout: TimeSpan.FromSeconds(120));
}

/// <summary>What secrets found in an image's own layers do: fail the scan, warn (the default), or nothing (not searched).</summary>
public enum SecretsMode
{
    Off,
    Warn,
    Fail,
}

/// <summary>
/// Where an image's layers are: its diff ids bottom to top, and — when the engine is local overlay2 — the
/// directory of each layer, which can be read directly instead of the saved-image stream.
/// </summary>
public sealed record ImageLayout(IReadOnlyList<string> DiffIds, IReadOnlyList<string>? LayerDirectories)
{
    /// <summary>
    /// From an image inspect: <c>RootFS.Layers</c>, <c>GraphDriver.Name</c> and <c>GraphDriver.Data</c>. For overlay2,
    /// <c>UpperDir</c> is the top layer and <c>LowerDir</c> lists the ones below it, top first; any mismatch
    /// (count, relative paths) leaves the directories out, and the stream is used.
    /// </summary>
    public static ImageLayout FromInspect(IList<string>? diffIds, string? driver, IDictionary<string, string>? data)
    {
        var ids = diffIds?.ToList() ?? [];
        if (driver != "overlay2" || data is null || !data.TryGetValue("UpperDir", out var upper) || string.IsNullOrEmpty(upper))
        {
            return new ImageLayout(ids, null);
        }
        var dirs = (data.TryGetValue("LowerDir", out var lower) && !string.IsNullOrEmpty(lower) ? lower.Split(':') : [])
            .Reverse().Append(upper).ToList();
        return dirs.Count == ids.Count && ids.Count > 0 && dirs.All(d => Path.IsPathFullyQualified(d) && !d.Contains("/../", StringComparison.Ordinal))
            ? new ImageLayout(ids, dirs)
            : new ImageLayout(ids, null);
    }
}

/// <summary>
/// One image to scan: its name for the report, its layout, and how to get its saved-image stream.
/// <see cref="BaseLayers"/>: diff ids of base images the job did not write (not searched for secrets);
/// null or empty: every layer is the image's own.
/// </summary>
public sealed record ScanRequest(string Image, ImageLayout Layout, Func<CancellationToken, Task<Stream>> OpenSavedImage, IReadOnlySet<string>? BaseLayers = null)
{
    public bool IsOwnLayer(string diffId) => BaseLayers is null || !BaseLayers.Contains(diffId);
}

/// <summary>What decided the outcome. Only <see cref="Passed"/> lets a job go on.</summary>
public enum ScanDecision
{
    Passed,
    Vulnerable,
    Incomplete,
    SecretsFound,
}

/// <summary>How the layers were read: <c>cache</c> (every layer known), <c>layers</c> (engine layer directories) or <c>stream</c> (saved image).</summary>
public sealed record ScanStats(string Reader, int LayersRead, int LayersFromCache, double Seconds);

/// <summary>A finished scan: the result, the policy's verdict, the report, and the decision with its message.</summary>
public sealed record ScanOutcome(ScanResult Result, ScanVerdict Verdict, ScanReport Report, ScanDecision Decision, string? Message, ScanStats Stats);

/// <summary>A scan that could not finish (unreadable image, timeout): no verdict is possible.</summary>
public sealed class ScanFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The one scan entry point, used by the server's scan stage and by <c>berth scan</c>: read the layers
/// (cache, then engine layer directories, then the saved-image stream), merge, catalog, match, apply policy,
/// decide. Bounded by <see cref="ScanSettings.Limits"/> and <see cref="ScanSettings.Timeout"/>.
/// </summary>
public sealed class ImageScan(AdvisoryDatabase database, LayerCache? cache, TimeProvider time)
{
    public async Task<ScanOutcome> RunAsync(ScanRequest request, ScanSettings settings, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(settings.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var budget = new ScanBudget(settings.Limits);
            var problems = new List<string>();
            IReadOnlyList<LayerIndex> layers;
            string reader;
            int read;
            try
            {
                (layers, reader, read) = await ReadLayersAsync(request, settings.Secrets != SecretsMode.Off, budget, linked.Token);
            }
            catch (ScanBudgetExceededException e)
            {
                (layers, reader, read) = ([], "stopped", 0);
                problems.Add($"the scan stopped: {e.Message}");
            }
            var own = settings.Secrets == SecretsMode.Off ? [] : layers.Where(l => request.IsOwnLayer(l.Layer)).ToList();
            var found = own.Sum(l => l.Secrets.Count + l.MoreSecrets);
            var secrets = own
                .SelectMany(l => l.Secrets.Select(s => new ImageSecret(s.RuleId, s.Title, s.Severity, new Packages.FileLocation(l.Layer, "/" + s.Path), s.Line, s.Masked)))
                .Take(LayerIndex.MaxListed)
                .ToList();
            var result = ImageScanner.Scan(LayerMerger.Merge(layers), database, problems) with { Secrets = secrets };
            if (found > secrets.Count)
            {
                result = result with { Warnings = [.. result.Warnings, $"{found} secrets were found; the first {secrets.Count} are listed"] };
            }
            if (secrets.Count > 0 && settings.Secrets == SecretsMode.Warn)
            {
                result = result with { Warnings = [.. result.Warnings, SecretsMessage(secrets, found)] };
            }
            if (budget.SecretsTruncated)
            {
                result = result with { Warnings = [.. result.Warnings, $"the secret search stopped after {settings.Limits.MaxSecretBytes / (1024 * 1024)} MiB of text: later files were not searched"] };
            }
            var stats = new ScanStats(reader, read, layers.Count - read, time.GetElapsedTime(started).TotalSeconds);
            return Decide(request.Image, result, settings, stats);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ScanFailedException($"the scan took longer than {settings.Timeout.TotalSeconds:0} s (Scan:TimeoutSeconds)");
        }
        catch (Exception e) when (e is InvalidDataException or IOException) // IOException: a stream cut short (EndOfStreamException) or dropped
        {
            throw new ScanFailedException($"the image could not be read for scanning: {e.Message}", e);
        }
    }

    private ScanOutcome Decide(string image, ScanResult result, ScanSettings settings, ScanStats stats)
    {
        var now = time.GetUtcNow();
        var verdict = settings.Policy.Evaluate(result.Findings, DateOnly.FromDateTime(now.UtcDateTime));
        var info = DatabaseInfo.Of(database, now, settings.MaxDatabaseAgeDays);
        var report = ScanReport.Create(image, result, verdict, settings.Policy, info) with { Stats = stats };
        var uncoveredFails = settings.UncoveredReleaseFails && result.Coverage is not null;
        var (decision, message) = verdict.Failed ? (ScanDecision.Vulnerable, ScanReport.FailureMessage(verdict, settings.Policy))
            : result.Problems.Count > 0 && settings.IncompleteFails
                ? (ScanDecision.Incomplete, $"the scan is incomplete: {string.Join("; ", result.Problems.Take(3))}{More(result.Problems.Count)} (Scan:IncompleteFails)")
            : uncoveredFails ? (ScanDecision.Incomplete, $"{result.Coverage!.Message} (Scan:UncoveredReleaseFails)")
            : result.SecretsFound.Count > 0 && settings.Secrets == SecretsMode.Fail ? (ScanDecision.SecretsFound, $"{SecretsMessage(result.SecretsFound, result.SecretsFound.Count)} (Scan:Secrets=fail)")
            : (ScanDecision.Passed, (string?)null);
        return new ScanOutcome(result, verdict, report, decision, message, stats);
    }

    private static string More(int count) => count > 3 ? $"; and {count - 3} more" : "";

    /// <summary>One line: how many secrets, and the first three by rule, place and masked value.</summary>
    public static string SecretsMessage(IReadOnlyList<ImageSecret> secrets, int total) =>
        $"{total} secret(s) in the image's own layers: " +
        string.Join("; ", secrets.Take(3).Select(s => $"{s.RuleId} at {s.Location.Path}:{s.Line} ({s.Masked}, layer {ImageScanner.Short(s.Location.Layer)})")) + More(total);

    private async Task<(IReadOnlyList<LayerIndex> Layers, string Reader, int Read)> ReadLayersAsync(
        ScanRequest request, bool secrets, ScanBudget budget, CancellationToken cancellationToken)
    {
        var ids = request.Layout.DiffIds;
        bool NeedsSecrets(string id) => secrets && request.IsOwnLayer(id);
        var layers = ids.Select(id => cache?.TryGet(id) is { } hit && (hit.SecretsScanned || !NeedsSecrets(id)) ? hit : null).ToArray();
        if (ids.Count > 0 && layers.All(l => l is not null))
        {
            return (layers!, "cache", 0);
        }
        if (request.Layout.LayerDirectories is { } dirs && LayerDirectoryReader.IsSupported && dirs.All(Directory.Exists))
        {
            try
            {
                var read = 0;
                for (var i = 0; i < ids.Count; i++)
                {
                    if (layers[i] is null)
                    {
                        layers[i] = await LayerDirectoryReader.ReadAsync(dirs[i], ids[i], budget, NeedsSecrets(ids[i]), cancellationToken);
                        cache?.Put(layers[i]!);
                        read++;
                    }
                }
                return (layers!, "layers", read);
            }
            catch (IOException)
            {
                // A layer directory went away or cannot be opened safely: the saved-image stream is the fallback.
            }
        }
        // The stream names its layers only at its end: every layer is searched, base layers' secrets are dropped later.
        await using var saved = await request.OpenSavedImage(cancellationToken);
        budget.Reset();
        var streamed = await SavedImageReader.ReadLayersAsync(saved, budget, cancellationToken, secrets);
        foreach (var layer in streamed)
        {
            cache?.Put(layer);
        }
        return (streamed, "stream", streamed.Count);
    }
}
