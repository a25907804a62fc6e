using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Berth.Cli.Jobs;

/// <summary>
/// Jobs on stdout: Spectre.Console tables when stdout is a terminal, plain text otherwise (a job as aligned
/// <c>key  value</c> lines, a list as tab-separated columns under a header), or the server's JSON with <c>--output json</c>.
/// </summary>
public sealed class JobPrinter(TextWriter output, bool terminal, bool json)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task WriteJobAsync(JobView job)
    {
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(job.Json, Indented));
            return;
        }
        var fields = Fields(job);
        var stages = job.Stages ?? [];
        if (terminal)
        {
            var console = Console();
            var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
            foreach (var (key, value) in fields)
            {
                grid.AddRow(new Markup($"[bold]{key}[/]"), new Markup(key == "status" ? Colored(value) : Markup.Escape(value)));
            }
            console.Write(grid);
            if (stages.Count > 0)
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumn("stage").AddColumn("status").AddColumn(new TableColumn("duration").RightAligned());
                foreach (var stage in stages)
                {
                    table.AddRow(Markup.Escape(stage.Name), Colored(stage.Status), Markup.Escape(Format.Duration(stage.Duration)));
                }
                console.Write(table);
            }
            return;
        }
        var width = fields.Max(f => f.Key.Length) + 2;
        foreach (var (key, value) in fields)
        {
            await output.WriteLineAsync(key.PadRight(width) + value);
        }
        foreach (var stage in stages)
        {
            await output.WriteLineAsync("stage".PadRight(width) + $"{stage.Name,-8} {stage.Status,-10} {Format.Duration(stage.Duration)}".TrimEnd());
        }
    }

    public async Task WriteListAsync(JobPage page)
    {
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(page.Json, Indented));
            return;
        }
        string[] header = ["ID", "STATUS", "NAME", "PERFORMANCE", "CREATED", "DURATION", "FAILURE"];
        var rows = page.Items.Select(j => new[]
        {
            j.Id, j.Status, j.Name ?? "-", Format.Number(j.Performance), Format.Time(j.CreatedAt), Format.Duration(j.Duration), j.Failure?.Reason ?? "-",
        }).ToList();
        if (terminal)
        {
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in header)
            {
                table.AddColumn(column.ToLowerInvariant());
            }
            foreach (var row in rows)
            {
                table.AddRow(row.Select((cell, i) => i == 1 ? Colored(cell) : Markup.Escape(cell)).ToArray());
            }
            Console().Write(table);
            return;
        }
        foreach (var row in rows.Prepend(header))
        {
            await output.WriteLineAsync(string.Join('\t', row));
        }
    }

    /// <summary>The lint findings and scan findings of <c>GET /report</c> as tables.</summary>
    public async Task WriteReportAsync(JsonElement report)
    {
        var lint = report.TryGetProperty("lint", out var l) && l.ValueKind == JsonValueKind.Array ? l.EnumerateArray().ToList() : [];
        var scan = report.TryGetProperty("scan", out var s) && s.ValueKind == JsonValueKind.Object ? s : (JsonElement?)null;
        var details = scan is { } sc && sc.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Array ? d.EnumerateArray().ToList() : [];
        string[] lintHeader = ["RULE", "LINE", "SEVERITY", "MESSAGE"];
        var lintRows = lint.Select(f => new[] { Str(f, "rule"), Str(f, "line"), Str(f, "severity"), Str(f, "message") }).ToList();
        string[] scanHeader = ["ADVISORY", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED"];
        var scanRows = details.Select(f => new[] { Str(f, "advisoryId"), Str(f, "severity"), Str(f, "package"), Str(f, "installedVersion"), Str(f, "fixedVersion") }).ToList();
        var summary = scan is { } r
            ? $"scan: {Str(r, "packages")} packages; findings: " + (r.TryGetProperty("findings", out var c) && c.ValueKind == JsonValueKind.Object
                ? string.Join(", ", c.EnumerateObject().Select(p => $"{p.Name} {p.Value}"))
                : "-")
            : "scan: none (the image was not scanned)";

        await output.WriteLineAsync($"job {Str(report, "jobId")} ({Str(report, "status")}): {lintRows.Count} lint findings");
        await WriteRowsAsync(lintHeader, lintRows);
        await output.WriteLineAsync(summary);
        await WriteRowsAsync(scanHeader, scanRows);
    }

    private async Task WriteRowsAsync(string[] header, List<string[]> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        if (terminal)
        {
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in header)
            {
                table.AddColumn(column.ToLowerInvariant());
            }
            foreach (var row in rows)
            {
                table.AddRow(row.Select(Markup.Escape).ToArray());
            }
            Console().Write(table);
            return;
        }
        foreach (var row in rows.Prepend(header))
        {
            await output.WriteLineAsync(string.Join('\t', row));
        }
    }

    private static string Str(JsonElement obj, string name) => !obj.TryGetProperty(name, out var value) ? "-" : value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "-",
        JsonValueKind.Null or JsonValueKind.Undefined => "-",
        _ => value.GetRawText(),
    };

    private static List<KeyValuePair<string, string>> Fields(JobView job)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("id", job.Id),
            new("name", job.Name ?? "-"),
            new("status", job.Status),
        };
        if (job.Failure is { } failure)
        {
            fields.Add(new("failure", $"{failure.Reason}: {failure.Message}"));
        }
        fields.Add(new("performance", Format.Number(job.Performance)));
        if (job.ExitCode is { } exit)
        {
            fields.Add(new("exit code", exit.ToString(CultureInfo.InvariantCulture)));
        }
        fields.Add(new("owner", job.Owner ?? "-"));
        fields.Add(new("created", Format.Time(job.CreatedAt)));
        if (job.StartedAt is { } started)
        {
            fields.Add(new("started", Format.Time(started)));
        }
        if (job.FinishedAt is { } finished)
        {
            fields.Add(new("finished", Format.Time(finished)));
            if (job.Duration is { } duration)
            {
                fields.Add(new("duration", Format.Duration(duration)));
            }
        }
        if (job.Scan is { } scan)
        {
            var c = scan.Findings;
            fields.Add(new("scan", $"{scan.Status}, {scan.Packages} packages" + (c is null ? "" : $", findings: critical {c.Critical}, high {c.High}, medium {c.Medium}, low {c.Low}")));
        }
        if (job.Lint is { Count: > 0 } lint)
        {
            fields.Add(new("lint", $"{lint.Count} findings (./berth report {job.Id})"));
        }
        if (job.Attempts > 1 || job.Agent is not null)
        {
            fields.Add(new("attempts", job.Attempts.ToString(CultureInfo.InvariantCulture) + (job.Agent is null ? "" : $" (agent {job.Agent})")));
        }
        return fields;
    }

    internal static string Colored(string status) => status switch
    {
        "succeeded" => "[green]succeeded[/]",
        "failed" => "[red]failed[/]",
        "canceled" => "[yellow]canceled[/]",
        "running" => "[blue]running[/]",
        _ => Markup.Escape(status),
    };

    private IAnsiConsole Console() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
}

/// <summary>How the CLI writes numbers, times and durations: invariant, UTC, short.</summary>
public static class Format
{
    public static string Number(double? value) => value is { } v ? v.ToString("0.####", CultureInfo.InvariantCulture) : "-";

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan? duration) => duration switch
    {
        null => "-",
        { TotalSeconds: < 60 } d => d.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
        { TotalHours: < 1 } d => $"{(int)d.TotalMinutes}m {d.Seconds:00}s",
        var d => $"{(int)d.Value.TotalHours}h {d.Value.Minutes:00}m",
    };
}
