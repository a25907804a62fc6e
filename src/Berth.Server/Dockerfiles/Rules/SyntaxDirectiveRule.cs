using Berth.Scanner;
namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: <c># syntax=</c> names a BuildKit frontend image, which the engine would fetch.</summary>
public sealed class SyntaxDirectiveRule : ILintRule
{
    public string Id => "syntax-directive";

    public IEnumerable<LintFinding> Check(LintContext context)
    {
        if (context.Document.Directives.TryGetValue("syntax", out var frontend))
        {
            yield return new LintFinding(Id, 1, LintSeverity.Error,
                $"'# syntax={Ellipsis.Truncate(frontend, 80)}' selects a frontend image to download; Berth builds with the engine's classic builder and refuses it: remove the line");
        }
    }
}
