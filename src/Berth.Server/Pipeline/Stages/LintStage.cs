using Berth.Server.Contexts;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;

namespace Berth.Server.Pipeline.Stages;

/// <summary>
/// Parses and lints the Dockerfile against the allowed images and the context's archives (which <c>ADD</c>
/// would extract). Error findings reject the job (<c>lint_rejected</c>).
/// </summary>
public sealed class LintStage(AllowedImages allowed) : IJobStage
{
    public string Name => "lint";

    public JobStatus Status => JobStatus.Linting;

    public async Task<StageOutcome> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var text = await File.ReadAllTextAsync(context.Paths.Dockerfile, cancellationToken);
        var document = DockerfileParser.Parse(text);
        IReadOnlyList<string> archives = [];
        if (document.Instructions.Any(i => i.Keyword == "ADD") && File.Exists(context.Paths.BuildContext))
        {
            await using var tar = File.OpenRead(context.Paths.BuildContext);
            archives = ContextArchives.Find(tar, cancellationToken);
        }
        var findings = DockerfileLinter.Lint(document, allowed, archives);
        context.Document = document;
        context.Job = context.Job with { Lint = findings };

        var errors = findings.Where(f => f.Severity == LintSeverity.Error).ToList();
        if (errors.Count == 0)
        {
            return StageOutcome.Completed;
        }
        var first = errors[0];
        var more = errors.Count > 1 ? $" (and {errors.Count - 1} more error(s); see lint)" : "";
        return StageOutcome.Failed(FailureReasons.LintRejected, $"lint rule '{first.Rule}' at line {first.Line}: {first.Message}{more}");
    }
}
