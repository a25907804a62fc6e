namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: the parser could not read a line (unknown instruction, missing argument, bad heredoc).</summary>
public sealed class SyntaxRule : ILintRule
{
    public string Id => "syntax";

    public IEnumerable<LintFinding> Check(DockerfileDocument document) =>
        document.Errors.Select(e => new LintFinding(Id, e.Line, LintFinding.Error, e.Message));
}
