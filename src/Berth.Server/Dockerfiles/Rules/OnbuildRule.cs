namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: ONBUILD. Its trigger would run in a later build, unseen by lint (a FROM of this stage included).</summary>
public sealed class OnbuildRule : ILintRule
{
    public string Id => "onbuild";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("ONBUILD").Select(i => new LintFinding(Id, i.Line, LintSeverity.Error,
            "ONBUILD is not allowed: its trigger would run unseen in a later build (a FROM of this stage included); write the instruction itself"));
}
