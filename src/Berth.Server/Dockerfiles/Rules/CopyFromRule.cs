using Berth.Scanner;
namespace Berth.Server.Dockerfiles.Rules;

/// <summary>
/// Error: <c>COPY --from=X</c> where X is not an earlier stage (name, case-insensitive, or index) nor an
/// image in <c>Build:AllowedImages</c>: anything else would make the engine fetch X.
/// </summary>
public sealed class CopyFromRule : ILintRule
{
    public string Id => "copy-from";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.Images
            .Where(s => s.Keyword == "COPY")
            .Select(s => Problem(context, s) is { } problem ? new LintFinding(Id, s.Line, LintSeverity.Error, problem) : null)
            .OfType<LintFinding>();

    private static string? Problem(LintContext context, ImageSource source) => source.Kind switch
    {
        ImageSourceKind.Invalid => $"COPY --from={Ellipsis.Truncate(source.Written, 80)}: {source.Problem}",
        ImageSourceKind.Image when !context.Allowed.Allows(source.Reference!) =>
            $"COPY --from={Ellipsis.Truncate(source.Written, 80)} is neither an earlier stage nor an allowed image ({source.Reference}). {FromImageRule.Allowed(context.Allowed)}",
        _ => null,
    };
}
