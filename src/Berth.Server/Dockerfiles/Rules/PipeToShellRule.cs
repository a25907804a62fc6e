using System.Text.RegularExpressions;

namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Warning: <c>curl ... | sh</c> runs whatever a server sends.</summary>
public sealed partial class PipeToShellRule : ILintRule
{
    [GeneratedRegex(@"\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(sh|bash|zsh|ash|dash|python3?|perl)\b")]
    private static partial Regex PipeRegex();

    public string Id => "pipe-to-shell";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("RUN")
            .Where(i => PipeRegex().IsMatch(i.Arguments))
            .Select(i => new LintFinding(Id, i.Line, LintSeverity.Warning, "downloading a script and piping it into a shell runs unverified code; download, verify a checksum, then run"));
}
