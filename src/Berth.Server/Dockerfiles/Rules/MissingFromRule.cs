namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: no FROM, or an instruction other than ARG before the first FROM. Not checked in ONBUILD triggers.</summary>
public sealed class MissingFromRule : ILintRule
{
    public string Id => "missing-from";

    public IEnumerable<LintFinding> Check(LintContext context)
    {
        if (context.IsTrigger)
        {
            yield break;
        }
        var first = context.Document.Instructions.FirstOrDefault(i => i.Keyword != "ARG");
        if (first is null)
        {
            yield return new LintFinding(Id, 1, LintSeverity.Error, "the Dockerfile has no FROM instruction");
        }
        else if (first.Keyword != "FROM")
        {
            yield return new LintFinding(Id, first.Line, LintSeverity.Error, $"{first.Keyword} appears before the first FROM (only ARG may)");
        }
    }
}
