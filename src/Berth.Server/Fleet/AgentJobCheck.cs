using Berth.Server.Jobs;

namespace Berth.Server.Fleet;

/// <summary>
/// What an agent may report about a job it holds (a heartbeat's progress, a result): the pipeline's stages in order, and
/// every list and text within bounds. An agent hosts untrusted code, so nothing it sends is stored unchecked: a missing
/// stage list would break every later read of the job, and a huge one every server that loads it.
/// </summary>
internal static class AgentJobCheck
{
    public const int MaxText = 4096;
    public const int MaxLintFindings = 1000;
    public const int MaxListItems = 200;

    /// <summary>Null when <paramref name="job"/> may be stored; else what is wrong with it, for a 400.</summary>
    public static string? Problem(Job job, IReadOnlyList<StageState> pipelineStages)
    {
        if (job.Stages is null || job.Stages.Count != pipelineStages.Count
            || job.Stages.Where((s, i) => s is null || s.Name != pipelineStages[i].Name || !Enum.IsDefined(s.Status)).Any())
        {
            return $"job.stages must be the pipeline's stages in order ({string.Join(", ", pipelineStages.Select(s => s.Name))})";
        }
        if (job.Lint is null || job.Lint.Count > MaxLintFindings || job.Lint.Any(l => l is null || TooLong(l.Rule) || TooLong(l.Message)))
        {
            return $"job.lint must be a list of at most {MaxLintFindings} findings, each text at most {MaxText} characters";
        }
        if (TooLong(job.ImageId) || job.Failure is { } failure && (TooLong(failure.Reason) || TooLong(failure.Message)))
        {
            return $"job.imageId and job.failure must be at most {MaxText} characters each";
        }
        if (job.Performance is { } perf && !double.IsFinite(perf))
        {
            return "job.performance must be a finite number";
        }
        if (job.Scan is { } scan && (scan.Findings is null || TooMany(scan.Warnings) || TooMany(scan.Incomplete) || TooLong(scan.Coverage)
            || scan.Database is { } db && TooLong(db.Source)))
        {
            return $"job.scan must have findings, and at most {MaxListItems} warnings and incomplete items of at most {MaxText} characters";
        }
        return null;
    }

    private static bool TooLong(string? text) => text is { Length: > MaxText };

    private static bool TooMany(IReadOnlyList<string>? items) => items is not null && (items.Count > MaxListItems || items.Any(i => i is null || TooLong(i)));
}
