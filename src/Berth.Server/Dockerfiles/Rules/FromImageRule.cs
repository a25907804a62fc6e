using Berth.Scanner;
namespace Berth.Server.Dockerfiles.Rules;

/// <summary>
/// Error: a FROM whose image Berth cannot resolve (see <see cref="ImageSources"/>) or that is not in
/// <c>Build:AllowedImages</c>. <c>scratch</c> and earlier stages are always allowed. In an ONBUILD
/// trigger, FROM is refused.
/// </summary>
public sealed class FromImageRule : ILintRule
{
    public string Id => "from-image";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.Images
            .Where(s => s.Keyword == "FROM")
            .Select(s => Problem(context, s) is { } problem ? new LintFinding(Id, s.Line, LintSeverity.Error, problem) : null)
            .OfType<LintFinding>();

    private static string? Problem(LintContext context, ImageSource source) => source.Kind switch
    {
        _ when context.IsTrigger => "FROM cannot be an ONBUILD trigger",
        ImageSourceKind.Invalid => source.Problem,
        ImageSourceKind.Image when !context.Allowed.Allows(source.Reference!) =>
            $"FROM image '{Ellipsis.Truncate(source.Written, 80)}' ({source.Reference}) is not allowed. {Allowed(context.Allowed)}",
        _ => null,
    };

    /// <summary>The sentence naming the setting and its images.</summary>
    internal static string Allowed(AllowedImages allowed) =>
        $"Berth builds only from scratch, earlier stages and the images in {AllowedImages.Setting}: " +
        Ellipsis.Truncate(string.Join(", ", allowed.References.Order(StringComparer.Ordinal)), 400);
}
