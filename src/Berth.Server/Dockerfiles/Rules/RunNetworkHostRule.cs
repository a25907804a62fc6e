namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: <c>RUN --network=host</c> would put a build step on the host's network.</summary>
public sealed class RunNetworkHostRule : ILintRule
{
    public string Id => "run-network-host";

    public IEnumerable<LintFinding> Check(DockerfileDocument document) =>
        document.Instructions
            .Where(i => i.Keyword == "RUN" && string.Equals(i.Flag("network"), "host", StringComparison.OrdinalIgnoreCase))
            .Select(i => new LintFinding(Id, i.Line, LintFinding.Error, "RUN --network=host is not allowed: build steps never share the host's network"));
}
