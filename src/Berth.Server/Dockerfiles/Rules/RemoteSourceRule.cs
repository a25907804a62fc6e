using System.Text.RegularExpressions;
using Berth.Scanner;

namespace Berth.Server.Dockerfiles.Rules;

/// <summary>
/// Error: ADD or COPY of a URL (anything with <c>://</c>) or a git address (<c>git@host:…</c>,
/// <c>user@host:path</c>, <c>github.com/…</c>), and <c>ADD --checksum</c> / <c>--keep-git-dir</c>.
/// The engine would download it itself, outside the build's network and limits.
/// </summary>
public sealed partial class RemoteSourceRule : ILintRule
{
    [GeneratedRegex(@"://|\A[^/@:\s]+@[^/:\s]+:|\Agithub\.com/", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RemoteRegex();

    public string Id => "remote-source";

    public static bool IsRemote(string source) => RemoteRegex().IsMatch(source);

    public IEnumerable<LintFinding> Check(LintContext context)
    {
        foreach (var instruction in context.All("ADD", "COPY"))
        {
            foreach (var flag in instruction.Flags.Where(f => instruction.Keyword == "ADD" && f.Name is "checksum" or "keep-git-dir"))
            {
                yield return Error(instruction, $"ADD --{flag.Name} is for downloads, which Berth refuses; put the file in the build context and COPY it");
            }
            foreach (var source in LintContext.Sources(instruction).Where(IsRemote))
            {
                yield return Error(instruction, instruction.Keyword == "ADD"
                    ? $"ADD {Ellipsis.Truncate(source, 80)}: the engine would download it itself, outside the build's network and limits; Berth refuses it: put the file in the build context and COPY it"
                    : $"COPY {Ellipsis.Truncate(source, 80)}: COPY cannot fetch URLs; put the file in the build context");
            }
        }
    }

    private LintFinding Error(Instruction instruction, string message) => new(Id, instruction.Line, LintSeverity.Error, message);
}
