using Berth.Scanner.Reports;

namespace Berth.Cli;

/// <summary>The human-readable form of a scan report.</summary>
public static class TableWriter
{
    public static async Task WriteAsync(ScanReport report, TextWriter output)
    {
        var distro = report.Distro is { } d ? $"{d.Id} {d.VersionId}" : "unknown distribution";
        var c = report.Findings;
        await output.WriteLineAsync($"{report.Image}: {distro}, {report.Packages} packages, database of {report.Database.Records} advisories");
        await output.WriteLineAsync($"findings: critical {c.Critical}, high {c.High}, medium {c.Medium}, low {c.Low}, unknown {c.Unknown}");
        if (report.Details.Count == 0)
        {
            return;
        }
        string[] header = ["ADVISORY", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED", "NOTE"];
        var rows = report.Details.Select(f => new[]
        {
            f.AdvisoryId, f.Severity, f.Package, f.InstalledVersion, f.FixedVersion ?? "-", f.Ignored ?? "",
        }).ToList();
        var widths = header.Select((h, i) => Math.Min(48, rows.Select(r => r[i].Length).Append(h.Length).Max())).ToArray();
        await output.WriteLineAsync();
        foreach (var row in rows.Prepend(header))
        {
            await output.WriteLineAsync(string.Join("  ", row.Select((cell, i) => Fit(cell, widths[i]))).TrimEnd());
        }
    }

    private static string Fit(string cell, int width) => cell.Length > width ? cell[..(width - 1)] + "…" : cell.PadRight(width);
}
