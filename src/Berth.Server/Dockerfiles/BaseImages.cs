using System.Text.RegularExpressions;

namespace Berth.Server.Dockerfiles;

/// <summary>A FROM line's image: <see cref="Reference"/> after ARG substitution; stage references and scratch excluded by <see cref="Of"/>.</summary>
public sealed record BaseImage(int Line, string Reference, bool Unresolved);

public static partial class BaseImages
{
    [GeneratedRegex(@"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))")]
    private static partial Regex VariableRegex();

    /// <summary>The external images the Dockerfile builds FROM (not <c>scratch</c>, not earlier stages).</summary>
    public static IReadOnlyList<BaseImage> Of(DockerfileDocument document)
    {
        var globalArgs = new Dictionary<string, string?>(StringComparer.Ordinal);
        var stages = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var result = new List<BaseImage>();
        var seenFrom = false;

        foreach (var instruction in document.Instructions)
        {
            if (instruction.Keyword == "ARG" && !seenFrom)
            {
                foreach (var token in instruction.Arguments.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                {
                    var eq = token.IndexOf('=', StringComparison.Ordinal);
                    if (eq < 0)
                    {
                        globalArgs[token] = null;
                    }
                    else
                    {
                        globalArgs[token[..eq]] = token[(eq + 1)..].Trim('"', '\'');
                    }
                }
                continue;
            }
            if (instruction.Keyword != "FROM")
            {
                continue;
            }
            seenFrom = true;
            var parts = instruction.Arguments.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var unresolved = false;
            var image = VariableRegex().Replace(parts[0], m =>
            {
                var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
                if (globalArgs.TryGetValue(name, out var value) && value is not null)
                {
                    return value;
                }
                var fallback = Regex.Match(m.Value, @"^\$\{[^:}]+:?-([^}]*)\}$");
                if (fallback.Success)
                {
                    return fallback.Groups[1].Value;
                }
                unresolved = true;
                return m.Value;
            });
            var isEarlierStage = stages.Contains(image);
            if (parts.Length >= 3 && parts[1].Equals("AS", StringComparison.OrdinalIgnoreCase))
            {
                stages.Add(parts[2]);
            }
            if (isEarlierStage || image.Equals("scratch", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            result.Add(new BaseImage(instruction.Line, image, unresolved));
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
