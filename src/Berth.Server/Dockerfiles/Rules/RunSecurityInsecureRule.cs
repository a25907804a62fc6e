namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: <c>RUN --security=insecure</c> asks for a privileged build step.</summary>
public sealed class RunSecurityInsecureRule : ILintRule
{
    public string Id => "run-security-insecure";

    public IEnumerable<LintFinding> Check(DockerfileDocument document) =>
        document.Instructions
            .Where(i => i.Keyword == "RUN" && string.Equals(i.Flag("security"), "insecure", StringComparison.OrdinalIgnoreCase))
            .Select(i => new LintFinding(Id, i.Line, LintFinding.Error, "RUN --security=insecure (a privileged build step) is not allowed"));
}
