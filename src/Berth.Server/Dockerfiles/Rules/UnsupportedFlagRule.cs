using Berth.Scanner;
namespace Berth.Server.Dockerfiles.Rules;

/// <summary>
/// Error: a flag the engine's classic builder does not support or Berth does not allow, a flag given
/// twice, or one with no value. Allowed: <c>COPY --from --chown</c>, <c>ADD --chown</c>,
/// <c>HEALTHCHECK --interval --timeout --start-period --retries</c> (only with NONE, see
/// <see cref="HealthcheckRule"/>). Flag names are case-sensitive, as in the builder. Flags with a rule
/// of their own (<c>FROM --platform</c>, <c>RUN --mount</c>, <c>RUN --network=host</c>,
/// <c>RUN --security=insecure</c>, <c>ADD --checksum</c>, <c>ADD --keep-git-dir</c>) are left to it.
/// </summary>
public sealed class UnsupportedFlagRule : ILintRule
{
    private static readonly Dictionary<string, string[]> Supported = new(StringComparer.Ordinal)
    {
        ["COPY"] = ["from", "chown"],
        ["ADD"] = ["chown"],
        ["HEALTHCHECK"] = ["interval", "timeout", "start-period", "retries"],
    };

    public string Id => "unsupported-flag";

    public IEnumerable<LintFinding> Check(LintContext context)
    {
        foreach (var instruction in context.Document.Instructions)
        {
            var supported = Supported.GetValueOrDefault(instruction.Keyword, []);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var flag in instruction.Flags)
            {
                if (HasOwnRule(instruction.Keyword, flag))
                {
                    continue;
                }
                if (!supported.Contains(flag.Name, StringComparer.Ordinal))
                {
                    yield return Error(instruction, $"{instruction.Keyword} flag --{Ellipsis.Truncate(flag.Name, 40)} is not supported by Berth's builder{Hint(instruction.Keyword)}");
                }
                else if (!seen.Add(flag.Name))
                {
                    yield return Error(instruction, $"{instruction.Keyword} flag --{flag.Name} is given more than once");
                }
                else if (flag.Value is null)
                {
                    yield return Error(instruction, $"{instruction.Keyword} flag --{flag.Name} needs a value (--{flag.Name}=…)");
                }
            }
        }
    }

    private static bool HasOwnRule(string keyword, InstructionFlag flag) => (keyword, flag.Name) switch
    {
        ("FROM", "platform") or ("RUN", "mount") or ("ADD", "checksum") or ("ADD", "keep-git-dir") => true,
        ("RUN", "network") => RunNetworkHostRule.IsHost(flag),
        ("RUN", "security") => RunSecurityInsecureRule.IsInsecure(flag),
        _ => false,
    };

    private static string Hint(string keyword) => keyword switch
    {
        "RUN" => " (the engine's classic builder takes no RUN flags; Build:Network sets the build network)",
        "COPY" => " (COPY takes only --from and --chown)",
        "ADD" => " (ADD takes only --chown)",
        _ => $" ({keyword} takes no flags)",
    };

    private LintFinding Error(Instruction instruction, string message) => new(Id, instruction.Line, LintSeverity.Error, message);
}
