namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: a HEALTHCHECK other than <c>HEALTHCHECK NONE</c>: dockerd would run the probe outside the job's limits.</summary>
public sealed class HealthcheckRule : ILintRule
{
    public string Id => "healthcheck";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("HEALTHCHECK")
            .Where(i => !(i.Words.Count == 1 && i.Words[0].Equals("NONE", StringComparison.OrdinalIgnoreCase)))
            .Select(i => new LintFinding(Id, i.Line, LintSeverity.Error,
                "HEALTHCHECK is not allowed (dockerd would run the probe outside the job's limits); only HEALTHCHECK NONE is"));
}
