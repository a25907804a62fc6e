using Berth.Server.Dockerfiles.Rules;

namespace Berth.Server.Dockerfiles;

/// <summary>Runs every lint rule, in the order listed here.</summary>
public static class DockerfileLinter
{
    public static readonly IReadOnlyList<ILintRule> Rules =
    [
        new SyntaxRule(),
        new MissingFromRule(),
        new RunSecurityInsecureRule(),
        new RunNetworkHostRule(),
        new RootUserRule(),
        new UnpinnedBaseImageRule(),
        new AddUrlRule(),
        new PipeToShellRule(),
        new SecretInEnvRule(),
        new ExposeRule(),
        new SudoRule(),
    ];

    public static IReadOnlyList<LintFinding> Lint(DockerfileDocument document) =>
        Rules.SelectMany(r => r.Check(document)).OrderBy(f => f.Line).ToList();
}
