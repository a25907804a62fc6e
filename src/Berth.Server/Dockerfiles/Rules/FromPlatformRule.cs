namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: <c>FROM --platform</c> asks the engine for an image of another platform, which it may pull.</summary>
public sealed class FromPlatformRule : ILintRule
{
    public string Id => "from-platform";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("FROM")
            .Where(i => i.Flags.Any(f => f.Name == "platform"))
            .Select(i => new LintFinding(Id, i.Line, LintSeverity.Error,
                "FROM --platform is not allowed: the engine could pull an image of that platform; Berth builds for its own platform from the allowed images"));
}
