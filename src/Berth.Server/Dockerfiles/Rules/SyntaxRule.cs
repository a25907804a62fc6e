namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: the parser could not read a line (unknown instruction, missing argument, bad directive, too long).</summary>
public sealed class SyntaxRule : ILintRule
{
    public string Id => ParseError.Syntax;

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.Document.Errors.Select(e => new LintFinding(e.Rule, e.Line, LintSeverity.Error, e.Message));
}
