namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: <c>RUN --mount</c> (any form) needs BuildKit, and <c>from=</c> would name images.</summary>
public sealed class RunMountRule : ILintRule
{
    public string Id => "run-mount";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("RUN")
            .Where(i => i.Flags.Any(f => f.Name == "mount"))
            .Select(i => new LintFinding(Id, i.Line, LintSeverity.Error,
                "RUN --mount is not allowed: Berth's classic builder does not support it (and a mount's from= would name an image); COPY what the step needs"));
}
