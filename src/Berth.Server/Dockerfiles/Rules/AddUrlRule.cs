namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Warning: <c>ADD</c> of a URL downloads unverified content at build time.</summary>
public sealed class AddUrlRule : ILintRule
{
    public string Id => "add-url";

    public IEnumerable<LintFinding> Check(DockerfileDocument document) =>
        document.Instructions
            .Where(i => i.Keyword == "ADD" && Sources(i).Any(s => s.Contains("://", StringComparison.Ordinal)))
            .Select(i => new LintFinding(Id, i.Line, LintFinding.Warning, "ADD of a URL fetches unverified content (and fails under Build:Network=none); COPY a checked file instead"));

    private static IEnumerable<string> Sources(Instruction i) =>
        i.ExecForm ?? i.Arguments.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
}
