namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: <c>RUN --security=insecure</c> asks for a privileged build step.</summary>
public sealed class RunSecurityInsecureRule : ILintRule
{
    public string Id => "run-security-insecure";

    public static bool IsInsecure(InstructionFlag flag) =>
        flag.Name == "security" && string.Equals(flag.Value, "insecure", StringComparison.OrdinalIgnoreCase);

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("RUN")
            .Where(i => i.Flags.Any(IsInsecure))
            .Select(i => new LintFinding(Id, i.Line, LintSeverity.Error, "RUN --security=insecure (a privileged build step) is not allowed"));
}
