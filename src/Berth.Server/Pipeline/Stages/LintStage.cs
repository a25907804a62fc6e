using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;

namespace Berth.Server.Pipeline.Stages;

/// <summary>Parses and lints the Dockerfile. Error findings reject the job (<c>lint_rejected</c>).</summary>
public sealed class LintStage : IJobStage
{
    public string Name => "lint";

    public JobStatus Status => JobStatus.Linting;

    public async Task ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var text = await File.ReadAllTextAsync(context.Paths.Dockerfile, cancellationToken);
        var document = DockerfileParser.Parse(text);
        var findings = DockerfileLinter.Lint(document, new AllowedImages(new Configuration.BuildOptions().EffectiveAllowedImages()), []);
        context.Document = document;
        context.Job = context.Job with { Lint = findings };

        var errors = findings.Where(f => f.Severity == LintFinding.Error).ToList();
        if (errors.Count > 0)
        {
            var first = errors[0];
            var more = errors.Count > 1 ? $" (and {errors.Count - 1} more error(s); see lint)" : "";
            throw new JobFailedException(FailureReasons.LintRejected, $"lint rule '{first.Rule}' at line {first.Line}: {first.Message}{more}");
        }
    }
}
