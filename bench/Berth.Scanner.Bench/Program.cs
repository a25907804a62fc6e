using System.Diagnostics;
using Berth.Scanner;
using Berth.Scanner.Advisories;
using Berth.Scanner.Layers;
using Docker.DotNet;

// Measures, on this machine, the scanner's one entry point (ImageScan) on a local image, database loaded:
//   stream  — the saved-image stream, no cache (how every scan worked before layer reading and the cache);
//   cold    — the engine's overlay2 layer directories, empty cache, the image taken as a base (not searched for
//             secrets, as the server treats an allowed base), and again with every layer searched (as `berth scan`);
//   warm    — every layer in the cache;
//   job     — a second image built on it with one small layer of its own (argument 4), base layers cached;
// plus the engine's save stream alone and the peak working set. Medians of N runs; the first run of each
// series warms the JIT and is not counted.
var image = args.ElementAtOrDefault(0) ?? "debian:bookworm-slim";
var dbFolder = args.ElementAtOrDefault(1) ?? "src/Berth.Scanner/Advisories/Bundled";
var runs = int.TryParse(args.ElementAtOrDefault(2), out var n) ? n : 10;
var jobImage = args.ElementAtOrDefault(3);

var load = Stopwatch.StartNew();
var db = AdvisoryDatabase.Load(dbFolder);
load.Stop();
Console.WriteLine($"database: {db.Records} records ({db.Skipped} skipped) from {dbFolder}, loaded in {load.Elapsed.TotalMilliseconds:0} ms");

using var docker = new DockerClientBuilder().WithEndpoint(new Uri("unix:///var/run/docker.sock")).Build();
var cacheRoot = Directory.CreateTempSubdirectory("berth-bench-cache-").FullName;

async Task<ScanRequest> RequestAsync(string name, bool directories)
{
    var inspect = await docker.Images.InspectImageAsync(name);
    var layout = ImageLayout.FromInspect(inspect.RootFS?.Layers, directories ? inspect.GraphDriver?.Name : null, inspect.GraphDriver?.Data);
    return new ScanRequest(name, layout, async token => new EndTolerantStream(await docker.Images.SaveImageAsync(inspect.ID, token)));
}

async Task<(double Median, ScanOutcome Outcome)> SeriesAsync(string name, bool directories, Func<LayerCache?> cache, bool secrets = false)
{
    var times = new List<double>();
    ScanOutcome? outcome = null;
    for (var i = 0; i < runs + 1; i++)
    {
        var scanCache = cache();
        var clock = Stopwatch.StartNew();
        var request = await RequestAsync(name, directories);
        if (!secrets && name == image)
        {
            request = request with { BaseLayers = request.Layout.DiffIds.ToHashSet() };
        }
        outcome = await new ImageScan(db, scanCache, TimeProvider.System).RunAsync(request, ScanSettings.Default, CancellationToken.None);
        if (i > 0)
        {
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
    }
    return (Median(times), outcome!);
}

LayerCache Fresh() => new(Path.Combine(cacheRoot, Guid.NewGuid().ToString("N")), 256L << 20, TimeProvider.System);
var shared = new LayerCache(Path.Combine(cacheRoot, "shared"), 256L << 20, TimeProvider.System);

GC.Collect();
var afterLoad = Process.GetCurrentProcess().WorkingSet64;
var cold = await SeriesAsync(image, directories: true, Fresh);
var coldSecrets = await SeriesAsync(image, directories: true, Fresh, secrets: true);
await new ImageScan(db, shared, TimeProvider.System).RunAsync(await RequestAsync(image, true), ScanSettings.Default, CancellationToken.None);
var warm = await SeriesAsync(image, directories: true, () => shared);
var peakLayers = Process.GetCurrentProcess().PeakWorkingSet64;
var stream = await SeriesAsync(image, directories: false, () => null);

var engineOnly = new List<double>();
for (var i = 0; i < runs; i++)
{
    var clock = Stopwatch.StartNew();
    await using (var saved = new EndTolerantStream(await docker.Images.SaveImageAsync(image, CancellationToken.None)))
    {
        await saved.CopyToAsync(Stream.Null);
    }
    engineOnly.Add(clock.Elapsed.TotalMilliseconds);
}

Console.WriteLine($"image: {image}: {stream.Outcome.Result.Packages.Count} packages, {stream.Outcome.Result.Findings.Count} findings, decision {stream.Outcome.Decision}");
Console.WriteLine($"stream (saved image, no cache), median of {runs}: {stream.Median:0} ms");
Console.WriteLine($"cold (layer directories, empty cache), median of {runs}: {cold.Median:0.0} ms [{cold.Outcome.Stats.Reader}, {cold.Outcome.Stats.LayersRead} read]");
Console.WriteLine($"cold, every layer searched for secrets, median of {runs}: {coldSecrets.Median:0.0} ms");
Console.WriteLine($"warm (every layer cached), median of {runs}: {warm.Median:0.0} ms [{warm.Outcome.Stats.Reader}, {warm.Outcome.Stats.LayersFromCache} cached]");
Console.WriteLine($"the engine's save stream alone, median of {runs}: {Median(engineOnly):0} ms");
if (jobImage is not null)
{
    var job = await SeriesAsync(jobImage, directories: true, () =>
    {
        var cache = Fresh();
        new ImageScan(db, cache, TimeProvider.System).RunAsync(RequestAsync(image, true).GetAwaiter().GetResult(), ScanSettings.Default, CancellationToken.None).GetAwaiter().GetResult();
        return cache;
    });
    Console.WriteLine($"job image {jobImage} on a scanned base, median of {runs}: {job.Median:0.0} ms [{job.Outcome.Stats.Reader}, {job.Outcome.Stats.LayersRead} read, {job.Outcome.Stats.LayersFromCache} cached]");
}
var peak = Process.GetCurrentProcess().PeakWorkingSet64;
static double Mib(long bytes) => bytes / (1024.0 * 1024);
Console.WriteLine($"working set with the database loaded: {Mib(afterLoad):0} MiB; peak after the layer-directory and cache scans: {Mib(peakLayers):0} MiB " +
                  $"(+{Mib(peakLayers - afterLoad):0}); peak after the stream scans too: {Mib(peak):0} MiB (+{Mib(peak - afterLoad):0})");
Directory.Delete(cacheRoot, recursive: true);

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
