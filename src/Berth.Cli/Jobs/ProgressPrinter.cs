namespace Berth.Cli.Jobs;

/// <summary>
/// Turns successive views of one job into progress lines: the job queued, each stage as it starts and ends (with its
/// duration), and the end (with the failure's reason and message). Only changes print: the same view twice prints nothing.
/// </summary>
public sealed class ProgressPrinter
{
    private readonly Dictionary<string, string> _stages = new(StringComparer.Ordinal);
    private string? _status;

    /// <summary>The lines <paramref name="job"/> adds to what was shown before.</summary>
    public IReadOnlyList<string> Update(JobView job)
    {
        var lines = new List<string>();
        if (_status is null)
        {
            lines.Add($"job {job.Id} {job.Status}" + (job.Name is null ? "" : $" ({job.Name})"));
        }
        else if (job.Status == "queued" && _status != "queued")
        {
            lines.Add($"job {job.Id} queued again (its worker was lost; attempt {job.Attempts + 1} follows)");
            _stages.Clear();
        }
        foreach (var stage in job.Stages ?? [])
        {
            if (_stages.TryGetValue(stage.Name, out var seen) && seen == stage.Status)
            {
                continue;
            }
            _stages[stage.Name] = stage.Status;
            switch (stage.Status)
            {
                case "pending":
                    break;
                case "running":
                    lines.Add($"{stage.Name} running");
                    break;
                default:
                    lines.Add($"{stage.Name} {stage.Status}" + (stage.Duration is { } d ? $" in {Format.Duration(d)}" : ""));
                    break;
            }
        }
        if (job.IsTerminal && _status != job.Status)
        {
            lines.Add(Outcome(job));
        }
        _status = job.Status;
        return lines;
    }

    /// <summary>How the job ended, with the failure's reason and message when it has one.</summary>
    public static string Outcome(JobView job) =>
        $"job {job.Id} {job.Status}" + (job.Duration is { } d ? $" after {Format.Duration(d)}" : "")
        + (job.Failure is { } f ? $": {f.Reason}: {f.Message}" : "")
        + (job.Status == "succeeded" && job.Performance is { } p ? $" (performance {Format.Number(p)})" : "");

    /// <summary>A one-line state for a live status display: the status and the stage running.</summary>
    public static string StatusLine(JobView job) =>
        $"job {job.Id}: {job.Status}" + (job.CurrentStage is { } stage && stage.Name != job.Status ? $" ({stage.Name})" : "");
}
