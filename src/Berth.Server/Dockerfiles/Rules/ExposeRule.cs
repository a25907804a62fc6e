namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Warning: EXPOSE has no effect, jobs run with no network.</summary>
public sealed class ExposeRule : ILintRule
{
    public string Id => "expose";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("EXPOSE").Select(i => new LintFinding(Id, i.Line, LintSeverity.Warning, "EXPOSE has no effect: Berth runs jobs with no network"));
}
