namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Warning: a base image without a tag, or with <c>latest</c>: builds are not reproducible.</summary>
public sealed class UnpinnedBaseImageRule : ILintRule
{
    public string Id => "base-image-unpinned";

    public IEnumerable<LintFinding> Check(DockerfileDocument document) =>
        BaseImages.Of(document)
            .Where(b => !b.Unresolved && BaseImages.IsUnpinned(b.Reference))
            .Select(b => new LintFinding(Id, b.Line, LintFinding.Warning, $"base image '{b.Reference}' is untagged or 'latest'; pin a version for reproducible builds"));
}
