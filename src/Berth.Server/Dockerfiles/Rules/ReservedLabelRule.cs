using Berth.Scanner;
namespace Berth.Server.Dockerfiles.Rules;

/// <summary>
/// Error: a LABEL key under <c>berth.</c> (any case, quotes ignored), or a key built from variables or escapes.
/// Berth labels every layer with its instance and the owner's build-cache key, and measures a build's disk use
/// by that label: a Dockerfile must not be able to relabel its layers.
/// </summary>
public sealed class ReservedLabelRule : ILintRule
{
    public const string Prefix = "berth.";

    public string Id => "reserved-label";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        from instruction in context.All("LABEL")
        from word in DockerfileWords.ParseWords(instruction.Arguments, context.Document.Escape)
        let key = word.Split('=')[0]
        let plain = key.Replace("\"", "", StringComparison.Ordinal).Replace("'", "", StringComparison.Ordinal)
        where key.Contains('$', StringComparison.Ordinal) || key.Contains(context.Document.Escape)
              || plain.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
        select new LintFinding(Id, instruction.Line, LintSeverity.Error,
            $"LABEL {Ellipsis.Truncate(key, 60)}: label keys must be plain text and not start with '{Prefix}' (Berth's own labels)");
}
