using Berth.Server.Dockerfiles.Rules;
using Berth.Scanner;

namespace Berth.Server.Dockerfiles;

/// <summary>Runs every lint rule, in the order listed here.</summary>
public static class DockerfileLinter
{
    public static readonly IReadOnlyList<ILintRule> Rules =
    [
        new SyntaxRule(),
        new SizeLimitRule(),
        new MissingFromRule(),
        new SyntaxDirectiveRule(),
        new UnsupportedFlagRule(),
        new FromPlatformRule(),
        new RunMountRule(),
        new RunSecurityInsecureRule(),
        new RunNetworkHostRule(),
        new FromImageRule(),
        new CopyFromRule(),
        new ReservedArgRule(),
        new ReservedLabelRule(),
        new RemoteSourceRule(),
        new AddArchiveRule(),
        new OnbuildRule(),
        new VolumeRule(),
        new HealthcheckRule(),
        new HeredocRule(),
        new RootUserRule(),
        new UnpinnedBaseImageRule(),
        new PipeToShellRule(),
        new SecretInEnvRule(),
        new ExposeRule(),
        new SudoRule(),
    ];

    /// <summary>
    /// Lints a submitted Dockerfile. <paramref name="contextArchives"/> are the context-relative paths
    /// of the build context's files that ADD would extract. A Dockerfile past a size limit gets only
    /// its syntax and size findings.
    /// </summary>
    public static IReadOnlyList<LintFinding> Lint(DockerfileDocument document, AllowedImages allowed, IReadOnlyCollection<string> contextArchives)
    {
        var context = new LintContext(document, allowed, contextArchives);
        var sizeFindings = new SizeLimitRule().Check(context).ToList();
        var rules = sizeFindings.Count > 0 || document.Errors.Any(e => e.Rule == ParseError.SizeLimit)
            ? Rules.Where(r => r is SyntaxRule or SizeLimitRule)
            : Rules;
        return rules.SelectMany(r => r.Check(context)).OrderBy(f => f.Line).ToList();
    }

    /// <summary>
    /// Lints the ONBUILD triggers of a base image (from its image config), which the classic builder runs
    /// right after the FROM. Each trigger must parse as one instruction that the rules accept; stages and
    /// the build context are out of a trigger's reach. Returns error findings only, with
    /// <see cref="LintFinding.Line"/> 0 (set it to the FROM's line) and a message naming the image and trigger.
    /// </summary>
    public static IReadOnlyList<LintFinding> LintTriggers(string image, IReadOnlyList<string> triggers, AllowedImages allowed)
    {
        var findings = new List<LintFinding>();
        for (var n = 0; n < triggers.Count; n++)
        {
            var where = $"ONBUILD trigger {n + 1} of base image '{image}' ('{Ellipsis.Truncate(triggers[n], 80)}')";
            var document = DockerfileParser.Parse(triggers[n]);
            if (document.Directives.Count > 0 || (document.Errors.Count == 0 && document.Instructions.Count != 1))
            {
                findings.Add(new LintFinding("onbuild", 0, LintSeverity.Error, $"{where} is not a single instruction"));
                continue;
            }
            var context = new LintContext(document, allowed, [], image);
            findings.AddRange(Rules
                .SelectMany(r => r.Check(context))
                .Where(f => f.Severity == LintSeverity.Error)
                .Select(f => f with { Line = 0, Message = $"{where}: {f.Message}" }));
        }
        return findings;
    }
}
