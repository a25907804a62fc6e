using System.Text.RegularExpressions;

namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Warning: sudo in RUN (build steps already run as the image's user; jobs can never gain root).</summary>
public sealed partial class SudoRule : ILintRule
{
    [GeneratedRegex(@"(^|[\s;&|(])sudo\s")]
    private static partial Regex Sudo();

    public string Id => "sudo";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("RUN")
            .Where(i => Sudo().IsMatch(i.Arguments))
            .Select(i => new LintFinding(Id, i.Line, LintSeverity.Warning, "sudo in RUN: use USER instead; at run time jobs cannot gain privileges (no-new-privileges)"));
}
