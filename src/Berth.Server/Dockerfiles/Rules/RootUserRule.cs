namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Warning: the final stage runs as root (no USER, or USER root/0). Berth runs jobs non-root anyway.</summary>
public sealed class RootUserRule : ILintRule
{
    public string Id => "user-root";

    public IEnumerable<LintFinding> Check(LintContext context)
    {
        var document = context.Document;
        var lastFrom = document.Instructions.LastOrDefault(i => i.Keyword == "FROM");
        if (lastFrom is null)
        {
            yield break;
        }
        var user = document.Instructions.LastOrDefault(i => i.Keyword == "USER" && i.Line > lastFrom.Line);
        if (user is null)
        {
            yield return new LintFinding(Id, lastFrom.Line, LintSeverity.Warning, "the image runs as root (no USER in the final stage); Berth runs each job as its own non-root host uid anyway");
        }
        else if (user.Arguments.Split(':')[0].Trim() is "root" or "0")
        {
            yield return new LintFinding(Id, user.Line, LintSeverity.Warning, "the last USER is root; Berth runs each job as its own non-root host uid anyway");
        }
    }
}
