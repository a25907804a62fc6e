using System.Globalization;
using Berth.Server.Metrics;

namespace Berth.Server.Tests.Metrics;

/// <summary>Reads samples out of Prometheus text: <c>name{labels} value</c> lines, comments skipped.</summary>
internal static class PrometheusText
{
    public static IReadOnlyDictionary<string, double> Samples(string text) => text.Split('\n')
        .Where(line => line.Length > 0 && line[0] != '#')
        .Select(line => (Series: line[..line.LastIndexOf(' ')], Value: line[(line.LastIndexOf(' ') + 1)..]))
        .ToDictionary(s => s.Series, s => double.Parse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture));

    /// <summary>The sample's value, or 0 when the series is absent (a counter not yet counted).</summary>
    public static double Value(string text, string series) => Samples(text).GetValueOrDefault(series);

    public static async Task<string> ExportAsync(JobMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
