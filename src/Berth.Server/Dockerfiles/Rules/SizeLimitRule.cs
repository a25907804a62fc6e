namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: more instructions or stages than <see cref="DockerfileLimits"/> allows (line lengths are checked by the parser).</summary>
public sealed class SizeLimitRule : ILintRule
{
    public string Id => ParseError.SizeLimit;

    public IEnumerable<LintFinding> Check(LintContext context)
    {
        var instructions = context.Document.Instructions;
        if (instructions.Count > DockerfileLimits.MaxInstructions)
        {
            yield return new LintFinding(Id, instructions[DockerfileLimits.MaxInstructions].Line, LintSeverity.Error,
                $"the Dockerfile has {instructions.Count} instructions; Berth accepts at most {DockerfileLimits.MaxInstructions}");
        }
        var stages = instructions.Where(i => i.Keyword == "FROM").ToList();
        if (stages.Count > DockerfileLimits.MaxStages)
        {
            yield return new LintFinding(Id, stages[DockerfileLimits.MaxStages].Line, LintSeverity.Error,
                $"the Dockerfile has {stages.Count} stages (FROM); Berth accepts at most {DockerfileLimits.MaxStages}");
        }
    }
}
