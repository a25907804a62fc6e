using Berth.Scanner;
namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Error: an ARG named <c>BERTH_…</c> (any case): the prefix is reserved for Berth.</summary>
public sealed class ReservedArgRule : ILintRule
{
    public const string Prefix = "BERTH_";

    public string Id => "reserved-arg";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        from instruction in context.All("ARG")
        from word in DockerfileWords.ParseWords(instruction.Arguments, context.Document.Escape)
        let name = word.Split('=')[0]
        where name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
        select new LintFinding(Id, instruction.Line, LintSeverity.Error, $"ARG {Ellipsis.Truncate(name, 60)}: names starting with {Prefix} are reserved for Berth");
}
