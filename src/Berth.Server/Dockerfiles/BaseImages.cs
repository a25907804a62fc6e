namespace Berth.Server.Dockerfiles;

/// <summary>
/// An image the build needs: <see cref="Reference"/> is normalized (e.g.
/// <c>docker.io/library/busybox:latest</c>), or, when <see cref="Unresolved"/>, the text as written
/// (lint has already refused such a Dockerfile). <see cref="RunsTriggers"/> is true when a FROM builds
/// on the image, so its ONBUILD triggers run (see <see cref="DockerfileLinter.LintTriggers"/>);
/// an image used only by COPY --from runs none.
/// </summary>
public sealed record BaseImage(int Line, string Reference, bool Unresolved, bool RunsTriggers);

public static class BaseImages
{
    /// <summary>
    /// The images the build stage must find on the engine: every FROM and COPY --from image (not
    /// <c>scratch</c>, not earlier stages), each once, at its first line.
    /// </summary>
    public static IReadOnlyList<BaseImage> Of(DockerfileDocument document)
    {
        var result = new List<BaseImage>();
        foreach (var source in ImageSources.Of(document))
        {
            var image = source.Kind switch
            {
                ImageSourceKind.Image => new BaseImage(source.Line, source.Reference!, false, source.Keyword == "FROM"),
                ImageSourceKind.Invalid => new BaseImage(source.Line, source.Written, true, source.Keyword == "FROM"),
                _ => null,
            };
            if (image is null)
            {
                continue;
            }
            var seen = result.FindIndex(b => b.Reference == image.Reference);
            if (seen < 0)
            {
                result.Add(image);
            }
            else if (image.RunsTriggers)
            {
                result[seen] = result[seen] with { RunsTriggers = true };
            }
        }
        return result;
    }

    /// <summary>True when the reference names no tag and no digest, or the tag <c>latest</c>.</summary>
    public static bool IsUnpinned(string reference)
    {
        if (reference.Contains('@', StringComparison.Ordinal))
        {
            return false;
        }
        var lastSlash = reference.LastIndexOf('/');
        var colon = reference.IndexOf(':', lastSlash + 1);
        return colon < 0 || reference[(colon + 1)..] == "latest";
    }
}
