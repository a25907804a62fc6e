using Berth.Server.Jobs;
using Berth.Server.Pipeline.Stages;

namespace Berth.Server.Pipeline;

/// <summary>The ordered list of stages every job goes through. Clean-up runs after them, always.</summary>
public sealed class JobPipeline(LintStage lint, BuildStage build, ScanStage scan, RunStage run, CollectStage collect)
{
    public IReadOnlyList<IJobStage> Stages { get; } =
    [
        lint,
        build,
        scan,
        run,
        collect,
    ];

    public IReadOnlyList<StageState> InitialStages() =>
        Stages.Select(s => new StageState(s.Name, StageStatus.Pending, null, null)).ToList();
}
