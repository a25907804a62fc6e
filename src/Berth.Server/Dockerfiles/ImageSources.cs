using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Berth.Scanner;

namespace Berth.Server.Dockerfiles;

public enum ImageSourceKind
{
    /// <summary>An earlier stage of the same Dockerfile.</summary>
    Stage,

    /// <summary><c>FROM scratch</c>: no image.</summary>
    Scratch,

    /// <summary>An image, in <see cref="ImageSource.Reference"/> (normalized).</summary>
    Image,

    /// <summary>Berth cannot tell, or refuses, what it names: see <see cref="ImageSource.Problem"/>.</summary>
    Invalid,
}

/// <summary>What one FROM or COPY --from names, resolved as the classic builder resolves it.</summary>
/// <param name="Keyword"><c>FROM</c> or <c>COPY</c>.</param>
/// <param name="Written">The FROM image or the --from value as written.</param>
/// <param name="Reference">The normalized reference of an image; the stage name or index of a stage.</param>
public sealed record ImageSource(int Line, string Keyword, string Written, ImageSourceKind Kind, string? Reference, string? Problem);

/// <summary>
/// Resolves FROM and COPY --from. FROM may use <c>$NAME</c> and <c>${NAME}</c> of global ARGs (before
/// the first FROM) whose default is a plain value; Berth passes no build arguments. COPY --from is
/// never expanded by the classic builder, so a <c>$</c> there is refused. Stage names match
/// case-insensitively and only earlier stages count; anything else is an image reference.
/// </summary>
public static partial class ImageSources
{
    [GeneratedRegex(@"\A[a-z][a-z0-9\-_.]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex StageNameRegex();

    [GeneratedRegex(@"\G[A-Za-z_][A-Za-z0-9_]*", RegexOptions.CultureInvariant)]
    private static partial Regex VariableNameRegex();

    public static IReadOnlyList<ImageSource> Of(DockerfileDocument document)
    {
        var globalArgs = new Dictionary<string, string?>(StringComparer.Ordinal);
        var stages = new List<string?>(); // every FROM so far (the last is the current stage), by lower-case name
        var result = new List<ImageSource>();
        foreach (var instruction in document.Instructions)
        {
            if (instruction.Keyword == "ARG" && stages.Count == 0)
            {
                foreach (var word in DockerfileWords.ParseWords(instruction.Arguments, document.Escape))
                {
                    var eq = word.IndexOf('=', StringComparison.Ordinal);
                    globalArgs[eq < 0 ? word : word[..eq]] = eq < 0 ? null : word[(eq + 1)..];
                }
            }
            else if (instruction.Keyword == "FROM")
            {
                var (source, stageName) = ResolveFrom(instruction, globalArgs, stages);
                result.Add(source);
                stages.Add(stageName);
            }
            else if (instruction.Keyword == "COPY" && instruction.Flags.Any(f => f.Name == "from"))
            {
                result.Add(ResolveCopyFrom(instruction, instruction.Flag("from"), stages.SkipLast(1).ToList()));
            }
        }
        return result;
    }

    private static (ImageSource Source, string? StageName) ResolveFrom(Instruction from, Dictionary<string, string?> globalArgs, List<string?> earlier)
    {
        var words = from.Words;
        var written = words.Count > 0 ? words[0] : "";
        ImageSource Invalid(string problem) => new(from.Line, "FROM", written, ImageSourceKind.Invalid, null, problem);

        if (words.Count != 1 && !(words.Count == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase)))
        {
            return (Invalid("FROM takes an image and optionally 'AS <stage name>'"), null);
        }
        var stageName = words.Count == 3 ? words[2].ToLowerInvariant() : null;
        if (stageName is not null && !StageNameRegex().IsMatch(stageName))
        {
            return (Invalid($"'{Ellipsis.Truncate(words[2], 40)}' is not a valid stage name: use a letter, then letters, digits, '-', '_' or '.'"), null);
        }
        if (stageName is not null && earlier.Contains(stageName))
        {
            return (Invalid($"the stage name '{stageName}' is used twice"), null);
        }
        var problem = Expand(written, globalArgs, out var image);
        if (problem is not null)
        {
            return (Invalid(problem), stageName);
        }
        if (earlier.Contains(image.ToLowerInvariant()))
        {
            return (new ImageSource(from.Line, "FROM", written, ImageSourceKind.Stage, image.ToLowerInvariant(), null), stageName);
        }
        if (image == "scratch")
        {
            return (new ImageSource(from.Line, "FROM", written, ImageSourceKind.Scratch, null, null), stageName);
        }
        return (Image(from.Line, "FROM", written, image), stageName);
    }

    private static ImageSource ResolveCopyFrom(Instruction copy, string? value, List<string?> earlier)
    {
        var written = value ?? "";
        if (written.Length == 0)
        {
            return new ImageSource(copy.Line, "COPY", written, ImageSourceKind.Invalid, null, "COPY --from needs a value: an earlier stage's name or index, or an allowed image");
        }
        if (written.Contains('$', StringComparison.Ordinal))
        {
            return new ImageSource(copy.Line, "COPY", written, ImageSourceKind.Invalid, null,
                $"COPY --from={written}: the classic builder does not expand variables in --from; name the stage or image plainly");
        }
        if (earlier.Contains(written.ToLowerInvariant()))
        {
            return new ImageSource(copy.Line, "COPY", written, ImageSourceKind.Stage, written.ToLowerInvariant(), null);
        }
        if (written.All(char.IsAsciiDigit) && long.TryParse(written, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return index < earlier.Count
                ? new ImageSource(copy.Line, "COPY", written, ImageSourceKind.Stage, written, null)
                : new ImageSource(copy.Line, "COPY", written, ImageSourceKind.Invalid, null, $"COPY --from={written}: stage {written} is not an earlier stage of this Dockerfile");
        }
        return Image(copy.Line, "COPY", written, written);
    }

    private static ImageSource Image(int line, string keyword, string written, string image) =>
        AllowedImages.TryNormalize(image, out var normalized, out var error)
            ? new ImageSource(line, keyword, written, ImageSourceKind.Image, normalized, null)
            : new ImageSource(line, keyword, written, ImageSourceKind.Invalid, null, error);

    /// <summary>Expands <c>$NAME</c> and <c>${NAME}</c> from plain global ARG defaults; anything else is a problem.</summary>
    private static string? Expand(string written, Dictionary<string, string?> globalArgs, out string image)
    {
        image = "";
        if (!IsPlain(written, allowDollar: true))
        {
            return $"FROM '{Ellipsis.Truncate(written, 80)}' uses quotes, escapes or unusual characters; write the image name plainly";
        }
        var result = new StringBuilder();
        for (var i = 0; i < written.Length; i++)
        {
            if (written[i] != '$')
            {
                result.Append(written[i]);
                continue;
            }
            var braced = i + 1 < written.Length && written[i + 1] == '{';
            var name = VariableNameRegex().Match(written, braced ? i + 2 : i + 1).Value;
            var end = (braced ? i + 2 : i + 1) + name.Length;
            if (name.Length == 0 || (braced && (end >= written.Length || written[end] != '}')))
            {
                return $"FROM '{Ellipsis.Truncate(written, 80)}': only $NAME and ${{NAME}} are allowed (no ${{NAME:-default}}, ${{NAME:+x}}, ${{NAME-x}}, ${{NAME#x}} or other forms)";
            }
            if (!globalArgs.TryGetValue(name, out var value))
            {
                return $"FROM uses ${name}, which is not a global ARG (an ARG before the first FROM)";
            }
            if (value is null)
            {
                return $"FROM uses ${name}, whose ARG has no default value; Berth passes no build arguments";
            }
            if (!IsPlain(value, allowDollar: false))
            {
                return $"FROM uses ${name}, whose default '{Ellipsis.Truncate(value, 80)}' is not a plain value (no quotes, escapes, $ or spaces)";
            }
            result.Append(value);
            i = braced ? end : end - 1;
        }
        image = result.ToString();
        return image.Length == 0 ? $"FROM '{written}' names an empty image" : null;
    }

    /// <summary>Printable ASCII with no quotes, backslash or backtick (the builder's lexer would rewrite those).</summary>
    private static bool IsPlain(string value, bool allowDollar) =>
        value.All(c => c is > ' ' and < (char)0x7F and not ('\'' or '"' or '\\' or '`') && (allowDollar || c != '$'));
}
