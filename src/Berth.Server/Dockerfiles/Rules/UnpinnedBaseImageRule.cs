namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Warning: a FROM image without a tag, or with <c>latest</c>: builds are not reproducible.</summary>
public sealed class UnpinnedBaseImageRule : ILintRule
{
    public string Id => "base-image-unpinned";

    public IEnumerable<LintFinding> Check(LintContext context) =>
        context.Images
            .Where(s => s.Keyword == "FROM" && s.Kind == ImageSourceKind.Image && BaseImages.IsUnpinned(s.Reference!))
            .Select(s => new LintFinding(Id, s.Line, LintSeverity.Warning, $"base image '{s.Written}' is untagged or 'latest'; pin a version for reproducible builds"));
}
