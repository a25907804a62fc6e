using Berth.Server.Jobs;
using Berth.Server.Pipeline.Stages;

namespace Berth.Server.Pipeline;

/// <summary>The ordered list of stages every job goes through. Clean-up runs after them, always.</summary>
public sealed class JobPipeline(LintStage lint, BuildStage build, RunStage run, CollectStage collect)
{
    public IReadOnlyList<IJobStage> Stages { get; } =
    [
        lint,
        build,
        // The Scan stage (image vulnerability scan) goes here, between Build and Run.
        run,
        collect,
    ];

    public IReadOnlyList<StageState> InitialStages() =>
        Stages.Select(s => new StageState(s.Name, StageStatus.Pending, null, null)).ToList();
}
