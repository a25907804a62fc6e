namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: <c>RUN --network=host</c> would put a build step on the host's network.</summary>
public sealed class RunNetworkHostRule : ILintRule
{
    public string Id => "run-network-host";

    public static bool IsHost(InstructionFlag flag) =>
        flag.Name == "network" && string.Equals(flag.Value, "host", StringComparison.OrdinalIgnoreCase);

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("RUN")
            .Where(i => i.Flags.Any(IsHost))
            .Select(i => new LintFinding(Id, i.Line, LintSeverity.Error, "RUN --network=host is not allowed: build steps never share the host's network"));
}
