using System.Diagnostics;
using Berth.Scanner.Secrets;

// Loads up to N MB of real text files (those SecretScanner.Wants and that do not look binary) from the
// given folders into memory, then times SecretScanner.Scan over all of them with the keyword prefilter
// and without it (every rule's regex on every file). Best of R runs; MB/s counts file bytes.
var megabytes = int.TryParse(args.ElementAtOrDefault(0), out var mb) ? mb : 100;
var runs = int.TryParse(args.ElementAtOrDefault(1), out var r) ? r : 3;
var folders = args.Length > 2 ? args[2..] : ["/usr/share", "/usr/lib/python3"];

var files = new List<(string Path, byte[] Content)>();
long total = 0;
foreach (var folder in folders)
{
    foreach (var path in Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint }))
    {
        if (total >= megabytes * 1_000_000L)
        {
            break;
        }
        var relative = path.TrimStart('/');
        var size = new FileInfo(path).Length;
        if (!SecretScanner.Wants(relative, size))
        {
            continue;
        }
        var content = File.ReadAllBytes(path);
        if (SecretScanner.LooksBinary(content))
        {
            continue;
        }
        files.Add((relative, content));
        total += content.Length;
    }
}
Console.WriteLine($"corpus: {files.Count} text files, {total / 1e6:0.0} MB from {string.Join(", ", folders)}");

// On and off alternate, so that a busy machine slows both alike; the best run of each counts.
var best = new Dictionary<bool, TimeSpan> { [true] = TimeSpan.MaxValue, [false] = TimeSpan.MaxValue };
var found = new Dictionary<bool, List<(string Path, SecretMatch Match)>>();
for (var run = 0; run < runs; run++)
{
    foreach (var prefilter in new[] { true, false })
    {
        var matches = new List<(string Path, SecretMatch Match)>();
        var clock = Stopwatch.StartNew();
        foreach (var (path, content) in files)
        {
            foreach (var match in SecretScanner.Scan(path, content, prefilter))
            {
                matches.Add((path, match));
            }
        }
        clock.Stop();
        best[prefilter] = clock.Elapsed < best[prefilter] ? clock.Elapsed : best[prefilter];
        found[prefilter] = matches;
    }
}
var woken = files.Count(f => SecretScanner.WakesAnyRule(f.Path, f.Content));
foreach (var prefilter in new[] { true, false })
{
    var seconds = best[prefilter].TotalSeconds;
    Console.WriteLine($"prefilter {(prefilter ? "on " : "off")}: {seconds:0.000} s, {total / 1e6 / seconds:0} MB/s, {found[prefilter].Count} matches"
        + (prefilter ? $" ({woken} of {files.Count} files hold a keyword)" : ""));
}
foreach (var group in found[true].GroupBy(f => f.Match.RuleId).OrderByDescending(g => g.Count()))
{
    Console.WriteLine($"  {group.Key}: {group.Count()}, e.g. {group.First().Path}:{group.First().Match.Line} {group.First().Match.Masked}");
}
