using Berth.Server.Dockerfiles;
using Berth.Server.Fleet;
using Berth.Server.Jobs;

namespace Berth.Server.Tests.Fleet;

/// <summary>What an agent reports is checked before it is stored: a missing or odd stage list, or huge lists and texts, are refused.</summary>
public sealed class AgentJobCheckTests
{
    private static readonly IReadOnlyList<StageState> Pipeline =
        new[] { "lint", "build", "scan", "run", "collect" }.Select(n => new StageState(n, StageStatus.Pending, null, null)).ToList();

    private static readonly Job Good = new("0123456789abcdef0123456789abcdef", 1, "n", JobStatus.Running, new JobLimits(60, 512, 1), null,
        DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, null, null, Pipeline, "sha256:abc", null,
        [new LintFinding("user-root", 1, LintSeverity.Warning, "runs as root")], 1);

    [Fact]
    public void Problem_ProgressAsThePipelineMakesIt_IsNull() => Assert.Null(AgentJobCheck.Problem(Good, Pipeline));

    public static TheoryData<string, Job> Bad() => new()
    {
        { "stages null", Good with { Stages = null! } },
        { "a stage null", Good with { Stages = [.. Pipeline.Take(4), null!] } },
        { "a stage missing", Good with { Stages = Pipeline.Take(4).ToList() } },
        { "stages renamed", Good with { Stages = Pipeline.Select(s => s with { Name = "x" + s.Name }).ToList() } },
        { "stages reordered", Good with { Stages = Pipeline.Reverse().ToList() } },
        { "stage status out of range", Good with { Stages = Pipeline.Select(s => s with { Status = (StageStatus)42 }).ToList() } },
        { "lint null", Good with { Lint = null! } },
        { "too many lint findings", Good with { Lint = Enumerable.Repeat(Good.Lint[0], AgentJobCheck.MaxLintFindings + 1).ToList() } },
        { "lint message huge", Good with { Lint = [Good.Lint[0] with { Message = new string('x', AgentJobCheck.MaxText + 1) }] } },
        { "image id huge", Good with { ImageId = new string('x', AgentJobCheck.MaxText + 1) } },
        { "failure message huge", Good with { Failure = new JobFailure("nonzero_exit", new string('x', AgentJobCheck.MaxText + 1)) } },
        { "performance NaN", Good with { Performance = double.NaN } },
        { "scan warnings many", Good with { Scan = ScanSummary.Skipped("x") with { Warnings = Enumerable.Repeat("w", AgentJobCheck.MaxListItems + 1).ToList() } } },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void Problem_BadReport_NamesWhatIsWrong(string what, Job job)
    {
        Assert.False(string.IsNullOrEmpty(AgentJobCheck.Problem(job, Pipeline)), what);
    }
}
