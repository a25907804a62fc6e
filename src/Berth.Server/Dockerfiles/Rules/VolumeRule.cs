namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: VOLUME. In Berth, image volumes are not writable host directories.</summary>
public sealed class VolumeRule : ILintRule
{
    public string Id => "volume";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.All("VOLUME").Select(i => new LintFinding(Id, i.Line, LintSeverity.Error,
            "VOLUME is not allowed: write to /data or /tmp; image volumes are not writable host directories in Berth"));
}
