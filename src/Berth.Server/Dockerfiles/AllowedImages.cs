using System.Text.RegularExpressions;
using Berth.Scanner;

namespace Berth.Server.Dockerfiles;

/// <summary>
/// The images a Dockerfile may name in FROM and COPY --from (setting <c>Build:AllowedImages</c>), besides
/// <c>scratch</c> and earlier stages. Entries and Dockerfile references are compared once normalized:
/// <c>busybox</c>, <c>busybox:latest</c>, <c>library/busybox</c> and
/// <c>docker.io/library/busybox:latest</c> are one image. A digest entry allows only that digest; a
/// reference with both a tag and a digest is the digest alone (the engine ignores the tag), so
/// <c>busybox:1.36@sha256:…</c> normalizes to <c>docker.io/library/busybox@sha256:…</c>. A tag entry
/// never allows a digest reference, nor the reverse.
/// </summary>
public sealed partial class AllowedImages
{
    public const string Setting = "Build:AllowedImages";

    private const string DefaultDomain = "docker.io";

    // docker/distribution reference grammar (the version Docker 20.10 uses), ASCII only; the separator
    // [-]* is written -+ (the same language) and the regex never backtracks, like Go's.
    private const string NameComponent = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    private const string DomainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private const string Domain = DomainComponent + @"(?:\." + DomainComponent + ")*(?::[0-9]+)?";

    [GeneratedRegex(@"\A(?<name>(?:" + Domain + "/)?" + NameComponent + "(?:/" + NameComponent + ")*)" +
        @"(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?\z",
        RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)]
    private static partial Regex ReferenceRegex();

    [GeneratedRegex(@"\A[a-f0-9]+\z|\Asha(?:256|384|512):", RegexOptions.CultureInvariant)]
    private static partial Regex IdLikeRegex();

    [GeneratedRegex(@"\Asha256:[a-f0-9]{64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Regex();

    private readonly HashSet<string> _normalized = new(StringComparer.Ordinal);

    /// <summary>Builds the list; throws <see cref="ArgumentException"/> for an entry <see cref="CheckEntry"/> refuses.</summary>
    public AllowedImages(IEnumerable<string> entries)
    {
        foreach (var entry in entries)
        {
            var problem = CheckEntry(entry);
            if (problem is not null)
            {
                throw new ArgumentException($"{Setting} entry '{entry}': {problem}", nameof(entries));
            }
            TryNormalize(entry, out var normalized, out _);
            _normalized.Add(normalized);
        }
    }

    /// <summary>The allowed images, normalized.</summary>
    public IReadOnlyCollection<string> References => _normalized;

    public bool Allows(string normalizedReference) => _normalized.Contains(normalizedReference);

    /// <summary>Why <paramref name="entry"/> cannot be an allow-list entry, or null when it can.</summary>
    public static string? CheckEntry(string entry)
    {
        if (entry == "scratch")
        {
            return "scratch is always allowed; do not list it";
        }
        return TryNormalize(entry, out _, out var error) ? null : error;
    }

    /// <summary>
    /// Normalizes an image reference as the engine reads it (<c>reference.ParseNormalizedNamed</c>,
    /// tag <c>latest</c> when none). Refuses what the engine could read as an image id
    /// (bare hex such as <c>7c52</c>, <c>sha256:…</c> with no name), Berth's own job images
    /// (a path component starting <c>berth-</c> or <c>job-</c>) and digests other than sha256.
    /// </summary>
    public static bool TryNormalize(string reference, out string normalized, out string? error)
    {
        normalized = "";
        error = Problem(reference, out var name, out var tag, out var digest);
        if (error is not null)
        {
            return false;
        }
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        string domain, path;
        if (slash < 0 || (name[..slash].IndexOfAny(['.', ':']) < 0 && name[..slash] != "localhost"))
        {
            (domain, path) = (DefaultDomain, name);
        }
        else
        {
            (domain, path) = (name[..slash], name[(slash + 1)..]);
        }
        if (domain == "index.docker.io")
        {
            domain = DefaultDomain;
        }
        if (domain == DefaultDomain && !path.Contains('/', StringComparison.Ordinal))
        {
            path = "library/" + path;
        }
        if (path.Split('/').Any(c => c.StartsWith("berth-", StringComparison.Ordinal) || c.StartsWith("job-", StringComparison.Ordinal)))
        {
            error = $"'{reference}' names a Berth job image (berth-…, job-…); those are never allowed";
            return false;
        }
        normalized = $"{domain}/{path}" + (digest is not null ? "@" + digest : ":" + (tag ?? "latest"));
        return true;
    }

    private static string? Problem(string reference, out string name, out string? tag, out string? digest)
    {
        (name, tag, digest) = ("", null, null);
        if (reference.Length == 0)
        {
            return "the image reference is empty";
        }
        if (IdLikeRegex().IsMatch(reference))
        {
            return $"'{reference}' could be an image id: image ids are not accepted; name an allowed image";
        }
        var m = ReferenceRegex().Match(reference);
        if (!m.Success)
        {
            return $"'{Ellipsis.Truncate(reference, 80)}' is not a valid image reference (name[:tag][@sha256:digest], repository in lower case)";
        }
        name = m.Groups["name"].Value;
        tag = m.Groups["tag"].Success ? m.Groups["tag"].Value : null;
        digest = m.Groups["digest"].Success ? m.Groups["digest"].Value : null;
        if (name.Length > 255)
        {
            return $"the image name in '{Ellipsis.Truncate(reference, 80)}' is longer than 255 characters";
        }
        if (digest is not null && !Sha256Regex().IsMatch(digest))
        {
            return $"'{reference}': only sha256 digests (64 lower-case hex digits) are accepted";
        }
        return null;
    }
}
