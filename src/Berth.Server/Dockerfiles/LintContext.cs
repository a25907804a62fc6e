namespace Berth.Server.Dockerfiles;

/// <summary>What the lint rules look at: the document, the allow-list and the build context's archives.</summary>
public sealed class LintContext(DockerfileDocument document, AllowedImages allowed, IReadOnlyCollection<string> contextArchives, string? triggerImage = null)
{
    private IReadOnlyList<ImageSource>? _images;

    public DockerfileDocument Document { get; } = document;

    public AllowedImages Allowed { get; } = allowed;

    /// <summary>Context-relative paths of the files ADD would extract (archives).</summary>
    public IReadOnlyCollection<string> ContextArchives { get; } = contextArchives;

    /// <summary>The base image whose ONBUILD trigger <see cref="Document"/> is; null for a submitted Dockerfile.</summary>
    public string? TriggerImage { get; } = triggerImage;

    public bool IsTrigger => TriggerImage is not null;

    /// <summary>Every FROM and COPY --from, resolved (computed once).</summary>
    public IReadOnlyList<ImageSource> Images => _images ??= ImageSources.Of(Document);

    public IEnumerable<Instruction> All(params string[] keywords) =>
        Document.Instructions.Where(i => keywords.Contains(i.Keyword, StringComparer.Ordinal));

    /// <summary>The sources of a COPY or ADD: every word but the last.</summary>
    public static IReadOnlyList<string> Sources(Instruction instruction) => instruction.Words.SkipLast(1).ToList();
}
