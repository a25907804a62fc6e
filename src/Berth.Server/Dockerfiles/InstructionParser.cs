using System.Text;
using System.Text.Json;
using Berth.Scanner;

namespace Berth.Server.Dockerfiles;

/// <summary>
/// Turns one logical line into an <see cref="Instruction"/> as the classic builder does
/// (<c>newNodeFromLine</c>: <c>splitCommand</c>, <c>extractBuilderFlags</c>, then the keyword's line parser).
/// </summary>
internal static class InstructionParser
{
    public static readonly IReadOnlySet<string> Keywords = new HashSet<string>(StringComparer.Ordinal)
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    };

    /// <summary>Keywords whose arguments may be a JSON array (<c>parseMaybeJSON</c>, <c>parseMaybeJSONToList</c>).</summary>
    private static readonly HashSet<string> ExecFormKeywords = new(StringComparer.Ordinal) { "RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME" };

    public static Instruction? Parse(string logical, int line, int endLine, out string? error)
    {
        error = null;
        var (word, rest) = DockerfileWords.SplitCommand(logical.Trim());
        var keyword = word.All(char.IsAsciiLetter) ? word.ToUpperInvariant() : "";
        if (!Keywords.Contains(keyword))
        {
            error = $"unknown instruction '{Ellipsis.Truncate(word, 40)}'";
            return null;
        }

        var words = new List<string>();
        var arguments = DockerfileWords.ExtractFlags(rest, words, out var nonAscii).Trim();
        if (nonAscii)
        {
            error = $"{keyword} has a flag with a non-ASCII character; flags must be plain ASCII";
            return null;
        }
        var flags = words.Select(ToFlag).ToList();

        if (arguments.Length == 0)
        {
            error = $"{keyword} requires at least one argument";
            return null;
        }

        IReadOnlyList<string>? execForm = null;
        if (ExecFormKeywords.Contains(keyword))
        {
            (execForm, var problem) = TryParseJsonArray(arguments);
            if (problem is not null)
            {
                error = $"{keyword}: {problem}";
                return null;
            }
        }
        if (execForm is null && keyword == "SHELL")
        {
            error = "SHELL requires the JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]";
            return null;
        }
        if (keyword is "COPY" or "ADD" && (execForm ?? DockerfileWords.SplitWhitespace(arguments)).Count < 2)
        {
            error = $"{keyword} requires a source and a destination";
            return null;
        }
        return new Instruction(keyword, line, endLine, flags, arguments, execForm);
    }

    /// <summary><c>BFlags.Parse</c>: <c>--name=value</c>, or <c>--name</c> with no value.</summary>
    private static InstructionFlag ToFlag(string word)
    {
        var body = word.StartsWith("--", StringComparison.Ordinal) ? word[2..] : word;
        var eq = body.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? new InstructionFlag(body, null) : new InstructionFlag(body[..eq], body[(eq + 1)..]);
    }

    /// <summary>
    /// <c>parseJSON</c>: Go's <c>json.Decoder</c> reads the first JSON value and ignores what follows it.
    /// Invalid JSON means shell form; valid JSON with a non-string item is an error, and so is a string Go would
    /// decode differently (a lone surrogate escape becomes U+FFFD there: lint must not read another instruction).
    /// </summary>
    private static (IReadOnlyList<string>? Items, string? Problem) TryParseJsonArray(string text)
    {
        if (!text.StartsWith('['))
        {
            return (null, null);
        }
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text), new JsonReaderOptions { MaxDepth = 10_000, AllowMultipleValues = true });
        var items = new List<string>();
        var notStrings = false;
        try
        {
            reader.Read(); // StartArray
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.String)
                {
                    try
                    {
                        items.Add(reader.GetString()!);
                    }
                    catch (InvalidOperationException)
                    {
                        return (null, "the JSON array holds a string that is not valid Unicode (a lone surrogate escape)");
                    }
                    continue;
                }
                notStrings = true;
                reader.Skip();
            }
            return reader.TokenType == JsonTokenType.EndArray
                ? (notStrings ? null : items, notStrings ? "the JSON array must hold only strings" : null)
                : (null, null);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return (null, null);
        }
    }
}
