namespace Berth.Server.Dockerfiles.Rules;

/// <summary>One lint rule. Rules are listed, in order, in <see cref="DockerfileLinter"/>.</summary>
public interface ILintRule
{
    /// <summary>Stable rule id shown to users, e.g. <c>run-network-host</c>.</summary>
    string Id { get; }

    IEnumerable<LintFinding> Check(LintContext context);
}
