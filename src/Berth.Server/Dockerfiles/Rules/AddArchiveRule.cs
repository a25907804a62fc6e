using Berth.Scanner;
namespace Berth.Server.Dockerfiles.Rules;

/// <summary>
/// Error: an ADD whose source is (or, as a pattern, matches) a build-context archive, which the engine
/// would extract; an ADD source Berth cannot check (variables, quotes, escapes, <c>..</c>, a malformed
/// pattern); any ADD in an ONBUILD trigger. Sources are read as the classic builder reads them: one
/// leading <c>/</c> and then one <c>./</c> dropped, patterns matched with Go's <c>filepath.Match</c>
/// against context-relative paths. ADD of a directory extracts nothing. URLs are left to
/// <see cref="RemoteSourceRule"/>.
/// </summary>
public sealed class AddArchiveRule : ILintRule
{
    public string Id => "add-archive";

    public IEnumerable<LintFinding> Check(LintContext context)
    {
        var archives = context.ContextArchives.Select(a => Clean(Strip(a))).ToHashSet(StringComparer.Ordinal);
        foreach (var add in context.All("ADD"))
        {
            if (context.IsTrigger)
            {
                yield return Error(add, "ADD in an ONBUILD trigger is refused: Berth cannot see which context file it would extract");
                continue;
            }
            foreach (var source in LintContext.Sources(add).Where(s => !RemoteSourceRule.IsRemote(s)))
            {
                if (Problem(source, archives) is { } problem)
                {
                    yield return Error(add, problem);
                }
            }
        }
    }

    private static string? Problem(string source, HashSet<string> archives)
    {
        var shown = Ellipsis.Truncate(source, 80);
        if (source.IndexOfAny(['$', '\'', '"', '\\', '`']) >= 0)
        {
            return $"ADD {shown}: the source uses variables, quotes or escapes, so Berth cannot tell whether it is an archive the engine would extract; write it plainly or use COPY";
        }
        var path = Strip(source);
        if (path.Split('/').Contains(".."))
        {
            return $"ADD {shown}: the source climbs with '..'; name the file inside the build context, or use COPY";
        }
        if (GlobPattern.HasWildcards(path))
        {
            if (!GlobPattern.TryCreate(path, out var pattern))
            {
                return $"ADD {shown}: Berth cannot check this pattern; simplify it or use COPY";
            }
            var match = archives.Order(StringComparer.Ordinal).FirstOrDefault(pattern.IsMatch);
            return match is null ? null : Extracts(shown, match);
        }
        var clean = Clean(path);
        return archives.Contains(clean) ? Extracts(shown, clean) : null;
    }

    private static string Extracts(string source, string archive) =>
        $"ADD {source} would extract the archive '{archive}' into the image; use COPY to copy it as a file (and extract it with RUN if you mean to)";

    /// <summary>The builder drops one leading '/' (unless the path is just '/') and then one leading './'.</summary>
    private static string Strip(string path)
    {
        if (path.Length > 1 && path[0] == '/')
        {
            path = path[1..];
        }
        return path.StartsWith("./", StringComparison.Ordinal) ? path[2..] : path;
    }

    /// <summary>A plain path as the context resolves it: empty and '.' segments removed.</summary>
    private static string Clean(string path) =>
        string.Join('/', path.Split('/').Where(s => s.Length > 0 && s != "."));

    private LintFinding Error(Instruction instruction, string message) => new(Id, instruction.Line, LintSeverity.Error, message);
}
