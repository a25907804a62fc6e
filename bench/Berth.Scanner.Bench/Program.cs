using System.Diagnostics;
using Berth.Scanner;
using Berth.Scanner.Advisories;
using Berth.Scanner.Layers;
using Docker.DotNet;

// Measures, on this machine: advisory database load time; the wall time of a scan of a local image
// (engine save stream → packages → advisories, database already loaded); the same scan from the saved
// bytes in memory (Berth's own work only); and peak memory. Medians of N runs.
var image = args.ElementAtOrDefault(0) ?? "debian:bookworm-slim";
var dbFolder = args.ElementAtOrDefault(1) ?? "../shared/vulndata";
var runs = int.TryParse(args.ElementAtOrDefault(2), out var n) ? n : 10;

var load = Stopwatch.StartNew();
var db = AdvisoryDatabase.Load(dbFolder);
load.Stop();
Console.WriteLine($"database: {db.Records} records ({db.Skipped} skipped) from {dbFolder}, loaded in {load.Elapsed.TotalMilliseconds:0} ms");

using var docker = new DockerClientBuilder().WithEndpoint(new Uri("unix:///var/run/docker.sock")).Build();

// 1. The real path: the engine's saved-image stream, read once, scanned as it arrives.
var fromEngine = new List<double>();
ScanResult? result = null;
for (var i = 0; i < runs + 1; i++) // the first run warms the JIT and is not counted
{
    var clock = Stopwatch.StartNew();
    await using (var stream = new EndTolerantStream(await docker.Images.SaveImageAsync(image, CancellationToken.None)))
    {
        result = await ImageScanner.ScanAsync(stream, db, CancellationToken.None);
    }
    if (i > 0)
    {
        fromEngine.Add(clock.Elapsed.TotalMilliseconds);
    }
}
var peak = Process.GetCurrentProcess().PeakWorkingSet64;

// 2. The engine alone: the same stream, read and discarded.
var engineOnly = new List<double>();
for (var i = 0; i < runs; i++)
{
    var clock = Stopwatch.StartNew();
    await using (var stream = new EndTolerantStream(await docker.Images.SaveImageAsync(image, CancellationToken.None)))
    {
        await stream.CopyToAsync(Stream.Null);
    }
    engineOnly.Add(clock.Elapsed.TotalMilliseconds);
}

// 3. Berth's own work: the saved tar from memory.
var saved = new MemoryStream();
await using (var stream = new EndTolerantStream(await docker.Images.SaveImageAsync(image, CancellationToken.None)))
{
    await stream.CopyToAsync(saved);
}
var fromMemory = new List<double>();
for (var i = 0; i < runs; i++)
{
    saved.Position = 0;
    var clock = Stopwatch.StartNew();
    await ImageScanner.ScanAsync(saved, db, CancellationToken.None);
    fromMemory.Add(clock.Elapsed.TotalMilliseconds);
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
Console.WriteLine($"image: {image}, saved tar {saved.Length / (1024.0 * 1024):0.0} MiB; packages: {result!.Packages.Count}, findings: {result.Findings.Count}");
Console.WriteLine($"scan via the engine (save stream + scan), median of {runs}: {Median(fromEngine):0} ms (target <= 500 ms)");
Console.WriteLine($"the engine's save stream alone, median of {runs}: {Median(engineOnly):0} ms");
Console.WriteLine($"Berth's part (scan of the saved tar from memory), median of {runs}: {Median(fromMemory):0} ms");
Console.WriteLine($"peak working set while scanning via the engine (database loaded): {peak / (1024.0 * 1024):0} MiB");
