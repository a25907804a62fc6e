using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Berth.Scanner.Catalogers.Npm;
using Berth.Scanner.Json;
using Berth.Scanner.Layers;
using Berth.Scanner.Tests.Json;
using Berth.Server.Api;
using Berth.Server.Configuration;
using Berth.Server.Errors;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Berth.Server.Submissions;
using Microsoft.AspNetCore.Http;

// Runs the JSON readers (StrictJson, perf.json, JSON submissions, npm package.json) over generated and
// mutated JSON for --seconds N, one fresh seed per round, and checks each ends in its documented outcome.
// On a violation it prints the seed and the input (base64) and exits 1.
var seconds = Option("--seconds", 30);
var firstSeed = Option("--seed", Environment.ProcessId);
var dir = Directory.CreateTempSubdirectory("berth-fuzz-").FullName;
var counts = new Dictionary<string, int>(StringComparer.Ordinal);
var clock = Stopwatch.StartNew();
var seed = firstSeed;
try
{
    for (; clock.Elapsed.TotalSeconds < seconds; seed++)
    {
        var json = new HostileJson(seed, maxDepth: 32);
        for (var i = 0; i < 200; i++)
        {
            var sample = json.Next();
            var bytes = (i % 4) switch
            {
                0 => json.Mutate(sample.Utf8),
                1 => json.Bytes(120),
                _ => sample.Utf8,
            };
            var known = i % 4 > 1; // the verdict is known only for unmutated samples
            CheckStrict(bytes, known ? sample.Defect : null);
            CheckPerf(bytes, known ? sample.Defect : null);
            await CheckSubmissionAsync(bytes);
            CheckNpm(bytes);
            Count(known ? sample.Defect.ToString() : "mutated or random");
        }
    }
}
catch (FuzzFailure e)
{
    Console.Error.WriteLine($"FAILED (seed {seed}): {e.Message}");
    return 1;
}
finally
{
    Directory.Delete(dir, recursive: true);
}
var total = counts.Values.Sum();
Console.WriteLine($"{total} inputs in {clock.Elapsed.TotalSeconds:0.0} s ({total / clock.Elapsed.TotalSeconds:0} per second), seeds {firstSeed}..{seed - 1}: no violation");
foreach (var (kind, n) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
{
    Console.WriteLine($"  {kind,-20} {n}");
}
return 0;

void CheckStrict(byte[] bytes, JsonDefect? defect)
{
    try
    {
        using var document = StrictJson.Parse(bytes, 32);
        Expect(defect is null or JsonDefect.None, "StrictJson accepted a planted defect", bytes);
        WellFormed(document.RootElement, bytes);
    }
    catch (StrictJsonException)
    {
        Expect(defect is not JsonDefect.None, "StrictJson refused a well-formed document", bytes);
    }
}

void CheckPerf(byte[] sample, JsonDefect? defect)
{
    byte[] file = [.. "{\"perf\": 0.5, \"x\": "u8, .. sample, .. "}"u8];
    File.WriteAllBytes(Path.Combine(dir, PerfFileReader.FileName), file);
    try
    {
        Expect(PerfFileReader.Read(dir) == 0.5 && defect is null or JsonDefect.None, "perf.json was read despite a planted defect", file);
    }
    catch (JobFailedException e)
    {
        Expect(e.Reason == FailureReasons.PerfInvalid && defect is not JsonDefect.None, $"perf.json ended in {e.Reason}: {e.Message}", file);
    }
}

async Task CheckSubmissionAsync(byte[] sample)
{
    var http = new DefaultHttpContext();
    http.Request.ContentType = "application/json";
    http.Request.Body = new MemoryStream([.. "{\"dockerfile\": \"FROM a\", \"name\": "u8, .. sample, .. "}"u8]);
    try
    {
        await SubmissionReader.ReadAsync(http.Request, new LimitsOptions(), CancellationToken.None);
    }
    catch (RequestRejectedException e)
    {
        Expect(e.Kind == Rejection.BadRequest, $"a submission was refused as {e.Kind}: {e.Message}", sample);
    }
}

void CheckNpm(byte[] content)
{
    var warnings = new List<string>();
    var files = new ImageFiles(new Dictionary<string, ImageFile> { ["node_modules/x/package.json"] = new("node_modules/x/package.json", "sha256:l", content) });
    var packages = new NpmCataloger().Catalog(files, null, warnings);
    Expect(packages.Count + warnings.Count == 1, "npm gave neither one package nor one warning", content);
}

void WellFormed(JsonElement element, byte[] input)
{
    switch (element.ValueKind)
    {
        case JsonValueKind.Object:
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                Expect(keys.Add(property.Name) && IsScalars(property.Name), "an accepted object has a duplicate or ill-formed key", input);
                WellFormed(property.Value, input);
            }
            break;
        case JsonValueKind.Array:
            foreach (var item in element.EnumerateArray())
            {
                WellFormed(item, input);
            }
            break;
        case JsonValueKind.String:
            Expect(IsScalars(element.GetString()!), "an accepted string has a lone surrogate", input);
            break;
    }
}

static bool IsScalars(string text)
{
    for (var i = 0; i < text.Length; i++)
    {
        if (char.IsSurrogatePair(text, i))
        {
            i++;
        }
        else if (char.IsSurrogate(text[i]))
        {
            return false;
        }
    }
    return true;
}

void Expect(bool condition, string what, byte[] input)
{
    if (!condition)
    {
        throw new FuzzFailure($"{what}; input (base64): {Convert.ToBase64String(input)}");
    }
}

void Count(string kind) => counts[kind] = counts.GetValueOrDefault(kind) + 1;

int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}

internal sealed class FuzzFailure(string message) : Exception(message);
