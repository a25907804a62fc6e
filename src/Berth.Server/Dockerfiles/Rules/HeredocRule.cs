using System.Text.RegularExpressions;
using Berth.Scanner;

namespace Berth.Server.Dockerfiles.Rules;

/// <summary>
/// Error: a here-document start (<c>&lt;&lt;EOF</c>, <c>&lt;&lt;-EOF</c>, <c>&lt;&lt;"EOF"</c>) in a
/// shell-form RUN, COPY or ADD. The classic builder has no here-documents: it runs the body lines as
/// instructions (the parser reads them as such, so lint checks them too). A <c>&lt;&lt;</c> inside
/// quotes is not one.
/// </summary>
public sealed partial class HeredocRule : ILintRule
{
    // BuildKit's reHeredoc, ^(\d*)<<(-?)([^<]*)$, on one word, with a non-empty name.
    [GeneratedRegex(@"\A[0-9]*<<-?[^<]", RegexOptions.CultureInvariant)]
    private static partial Regex HeredocWordRegex();

    public string Id => "heredoc";

    public IEnumerable<LintFinding> Check(LintContext context)
    {
        foreach (var instruction in context.All("RUN", "COPY", "ADD").Where(i => i.ExecForm is null))
        {
            var word = DockerfileWords.ParseWords(instruction.Arguments, context.Document.Escape).FirstOrDefault(w => HeredocWordRegex().IsMatch(w));
            if (word is not null)
            {
                yield return new LintFinding(Id, instruction.Line, LintSeverity.Error,
                    $"'{Ellipsis.Truncate(word, 40)}': here-documents need BuildKit; Berth's classic builder would run the body lines as instructions. Use RUN with one command per line, or COPY a script");
            }
        }
    }
}
