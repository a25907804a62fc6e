using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Server.Dockerfiles;

/// <summary>
/// Parses Dockerfile text the way the Docker builder does: parser directives, comments, line
/// continuations (with the directive's escape character), JSON and shell forms, leading flags and
/// here-documents. It never throws on bad input: problems become <see cref="ParseError"/>s.
/// </summary>
public static partial class DockerfileParser
{
    public static readonly IReadOnlySet<string> Keywords = new HashSet<string>(StringComparer.Ordinal)
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    };

    private static readonly HashSet<string> FlagKeywords = new(StringComparer.Ordinal) { "FROM", "RUN", "COPY", "ADD", "HEALTHCHECK" };
    private static readonly HashSet<string> HeredocKeywords = new(StringComparer.Ordinal) { "RUN", "COPY", "ADD" };
    private static readonly HashSet<string> ExecFormKeywords = new(StringComparer.Ordinal) { "RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME" };

    [GeneratedRegex(@"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")]
    private static partial Regex DirectiveRegex();

    [GeneratedRegex(@"<<(-?)(?:""([^""\s]+)""|'([^'\s]+)'|([A-Za-z_][A-Za-z0-9_.-]*))")]
    private static partial Regex HeredocRegex();

    public static DockerfileDocument Parse(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var directives = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var instructions = new List<Instruction>();
        var errors = new List<ParseError>();
        var escape = '\\';
        var i = 0;

        // Parser directives: only at the very top, before any comment, blank line or instruction.
        for (; i < lines.Length; i++)
        {
            var m = DirectiveRegex().Match(lines[i].Trim());
            if (!m.Success)
            {
                break;
            }
            var name = m.Groups[1].Value.ToLowerInvariant();
            if (name is not ("syntax" or "escape" or "check"))
            {
                break; // an ordinary comment ends the directive block
            }
            if (!directives.TryAdd(name, m.Groups[2].Value))
            {
                errors.Add(new ParseError(i + 1, $"parser directive '{name}' is given more than once"));
            }
        }
        if (directives.TryGetValue("escape", out var esc))
        {
            if (esc is "\\" or "`")
            {
                escape = esc[0];
            }
            else
            {
                errors.Add(new ParseError(1, $"invalid escape directive '{esc}': must be \\ or `"));
            }
        }

        while (i < lines.Length)
        {
            var trimmed = lines[i].TrimStart();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                i++;
                continue;
            }

            var startLine = i + 1;
            var logical = new StringBuilder();
            while (true)
            {
                var current = lines[i].TrimEnd();
                i++;
                if (current.Length > 0 && current[^1] == escape)
                {
                    logical.Append(current, 0, current.Length - 1);
                    // Comment lines and empty lines inside a continuation are dropped, as Docker does.
                    while (i < lines.Length && (lines[i].Trim().Length == 0 || lines[i].TrimStart().StartsWith('#')))
                    {
                        i++;
                    }
                    if (i >= lines.Length)
                    {
                        break;
                    }
                    continue;
                }
                logical.Append(current);
                break;
            }

            var instruction = ParseInstruction(logical.ToString().Trim(), startLine, lines, ref i, errors);
            if (instruction is not null)
            {
                instructions.Add(instruction);
            }
        }

        return new DockerfileDocument(directives, instructions, errors);
    }

    private static Instruction? ParseInstruction(string logical, int line, string[] lines, ref int next, List<ParseError> errors)
    {
        var split = logical.IndexOfAny([' ', '\t']);
        var word = split < 0 ? logical : logical[..split];
        var rest = split < 0 ? "" : logical[(split + 1)..].Trim();
        var keyword = word.ToUpperInvariant();

        if (!Keywords.Contains(keyword))
        {
            errors.Add(new ParseError(line, $"unknown instruction '{Truncate(word, 40)}'"));
            return null;
        }

        var flags = new List<InstructionFlag>();
        if (FlagKeywords.Contains(keyword))
        {
            while (rest.StartsWith("--", StringComparison.Ordinal))
            {
                var end = rest.IndexOfAny([' ', '\t']);
                var token = end < 0 ? rest : rest[..end];
                rest = end < 0 ? "" : rest[(end + 1)..].TrimStart();
                var eq = token.IndexOf('=', StringComparison.Ordinal);
                flags.Add(eq < 0
                    ? new InstructionFlag(token[2..], null)
                    : new InstructionFlag(token[2..eq], token[(eq + 1)..]));
            }
        }

        if (rest.Length == 0 && keyword != "HEALTHCHECK")
        {
            errors.Add(new ParseError(line, $"{keyword} requires at least one argument"));
            return null;
        }

        var execForm = ExecFormKeywords.Contains(keyword) && rest.StartsWith('[') ? TryParseJsonArray(rest) : null;
        if (execForm is null && keyword == "SHELL")
        {
            errors.Add(new ParseError(line, "SHELL requires the JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]"));
            return null;
        }

        var heredocs = new List<Heredoc>();
        if (HeredocKeywords.Contains(keyword) && execForm is null)
        {
            foreach (Match m in HeredocRegex().Matches(rest))
            {
                var stripTabs = m.Groups[1].Value == "-";
                var name = m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Success ? m.Groups[3].Value : m.Groups[4].Value;
                var body = new StringBuilder();
                var terminated = false;
                while (next < lines.Length)
                {
                    var raw = lines[next++];
                    var candidate = stripTabs ? raw.TrimStart('\t') : raw;
                    if (candidate == name)
                    {
                        terminated = true;
                        break;
                    }
                    body.Append(candidate).Append('\n');
                }
                if (!terminated)
                {
                    errors.Add(new ParseError(line, $"here-document '{name}' is not terminated (no line '{name}' follows)"));
                    return null;
                }
                heredocs.Add(new Heredoc(name, body.ToString()));
            }
        }

        return new Instruction(keyword, line, flags, rest, execForm, heredocs);
    }

    private static string[]? TryParseJsonArray(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            var items = new List<string>();
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    return null;
                }
                items.Add(item.GetString()!);
            }
            return items.ToArray();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static string Truncate(string value, int max) => value.Length <= max ? value : value[..max] + "…";
}
