using System.Globalization;
using System.Text;
using Berth.Scanner.Tests.Json;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;

namespace Berth.Server.Tests.Pipeline;

/// <summary>Whatever a job writes to perf.json, the outcome is a finite perf or <c>perf_invalid</c>: never another exception.</summary>
public sealed class PerfFileReaderPropertyTests
{
    private static double? Outcome(byte[] bytes)
    {
        try
        {
            return PerfFileReader.Parse(bytes);
        }
        catch (JobFailedException e)
        {
            Assert.Equal(FailureReasons.PerfInvalid, e.Reason);
            return null;
        }
    }

    [Fact]
    public void Parse_GeneratedFiles_PerfOnlyWhenWellFormed()
    {
        var json = new HostileJson(seed: 606, maxDepth: 32);
        for (var i = 0; i < 3000; i++)
        {
            var sample = json.Next();
            var perf = Math.Round(json.Random.NextDouble() * 100, 3).ToString(CultureInfo.InvariantCulture);
            // The sample beside a valid perf: the file is accepted exactly when the sample is well-formed.
            byte[] file = [.. Encoding.ASCII.GetBytes($"{{\"perf\": {perf}, \"extra\": "), .. sample.Utf8, .. "}"u8];

            var outcome = Outcome(file);

            Assert.True((sample.Defect == JsonDefect.None) == outcome.HasValue, $"{sample.Defect}: {sample.Text}");
            if (outcome is { } value)
            {
                Assert.Equal(double.Parse(perf, CultureInfo.InvariantCulture), value);
            }
        }
    }

    [Fact]
    public void Parse_StringNumbersAndNamedNumbers_AreNeverAPerf()
    {
        foreach (var perf in new[] { "\"0.5\"", "\"5\"", "NaN", "Infinity", "-Infinity", "\"NaN\"", "1e999", "-1e999", "[0.5]", "{\"value\": 0.5}", "true", "0,5", "1_000" })
        {
            Assert.Null(Outcome(Encoding.UTF8.GetBytes($"{{\"perf\": {perf}}}")));
        }
    }

    [Fact]
    public void Parse_RandomAndMutatedBytes_AreAFinitePerfOrPerfInvalid()
    {
        var json = new HostileJson(seed: 99, maxDepth: 32);
        var valid = Encoding.UTF8.GetBytes("{\"perf\": 0.75, \"run\": {\"seed\": 7, \"name\": \"r\\u00e9sum\\u00e9\"}}");
        for (var i = 0; i < 5000; i++)
        {
            var bytes = i % 2 == 0 ? json.Mutate(valid) : json.Bytes(80);
            if (Outcome(bytes) is { } perf)
            {
                Assert.True(double.IsFinite(perf));
            }
        }
    }
}
