using System.Text;

namespace Berth.Server.Dockerfiles;

/// <summary>
/// Word splitting exactly as the engine's classic builder does it (moby/buildkit v0.8
/// <c>frontend/dockerfile/parser</c>, vendored by Docker 20.10). Each method names the Go function it follows.
/// </summary>
internal static class DockerfileWords
{
    /// <summary>The separator of <c>reWhitespace</c> (<c>[\t\v\f\r ]+</c>): FROM, COPY, ADD, EXPOSE words and the keyword.</summary>
    public static bool IsSeparator(char c) => c is ' ' or '\t' or '\v' or '\f' or '\r';

    /// <summary><c>unicode.IsSpace</c> of one ASCII byte (the flag scanner reads bytes).</summary>
    private static bool IsAsciiSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    /// <summary><c>parseStringsWhitespaceDelimited</c>: split at runs of separators.</summary>
    public static IReadOnlyList<string> SplitWhitespace(string text) =>
        text.Length == 0 ? [] : text.Split([' ', '\t', '\v', '\f', '\r'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// <c>splitCommand</c>: the keyword (up to the first separator) and the rest after the separators.
    /// The line is already trimmed.
    /// </summary>
    public static (string Command, string Arguments) SplitCommand(string line)
    {
        var end = 0;
        while (end < line.Length && !IsSeparator(line[end]))
        {
            end++;
        }
        var rest = end;
        while (rest < line.Length && IsSeparator(line[rest]))
        {
            rest++;
        }
        return (line[..end], line[rest..]);
    }

    /// <summary>
    /// <c>extractBuilderFlags</c>: leading <c>--flag</c> words, with quotes and backslash escapes removed
    /// (the backslash always, whatever the escape directive says). A lone <c>--</c> ends the flags.
    /// <paramref name="nonAscii"/> is set when a flag holds a non-ASCII character: Go reads flags byte
    /// by byte and mangles those, so Berth refuses them.
    /// </summary>
    public static string ExtractFlags(string line, List<string> flags, out bool nonAscii)
    {
        nonAscii = false;
        var word = new StringBuilder();
        var inWord = false;
        var inQuote = false;
        var quote = '\0';
        var blankOk = false;
        for (var pos = 0; pos <= line.Length; pos++)
        {
            var atEnd = pos == line.Length;
            var ch = atEnd ? '\0' : line[pos];
            if (!inWord && !inQuote)
            {
                if (atEnd)
                {
                    break;
                }
                if (IsAsciiSpace(ch))
                {
                    continue;
                }
                if (ch != '-' || pos + 1 == line.Length || line[pos + 1] != '-')
                {
                    return line[pos..];
                }
                inWord = true;
            }
            if (atEnd)
            {
                if (word.ToString() != "--" && (blankOk || word.Length > 0))
                {
                    flags.Add(word.ToString());
                }
                break;
            }
            if (ch > 0x7F)
            {
                nonAscii = true;
            }
            if (inWord)
            {
                if (IsAsciiSpace(ch))
                {
                    inWord = false;
                    if (word.ToString() == "--")
                    {
                        return line[pos..];
                    }
                    if (blankOk || word.Length > 0)
                    {
                        flags.Add(word.ToString());
                    }
                    word.Clear();
                    blankOk = false;
                    continue;
                }
                if (ch is '\'' or '"')
                {
                    quote = ch;
                    blankOk = true;
                    inWord = false;
                    inQuote = true;
                    continue;
                }
                if (ch == '\\')
                {
                    if (pos + 1 == line.Length)
                    {
                        continue;
                    }
                    ch = line[++pos];
                    nonAscii |= ch > 0x7F;
                }
                word.Append(ch);
                continue;
            }
            // In quotes.
            if (ch == quote)
            {
                inQuote = false;
                inWord = true;
                continue;
            }
            if (ch == '\\')
            {
                if (pos + 1 == line.Length)
                {
                    inQuote = false;
                    inWord = true;
                    continue;
                }
                ch = line[++pos];
                nonAscii |= ch > 0x7F;
            }
            word.Append(ch);
        }
        return "";
    }

    /// <summary>
    /// <c>parseWords</c> (ARG): words split at whitespace outside quotes; quotes and escape characters
    /// are kept in the words, as the builder keeps them for its later expansion.
    /// </summary>
    public static IReadOnlyList<string> ParseWords(string rest, char escape)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inSpaces = true;
        var inQuote = false;
        var quote = '\0';
        var blankOk = false;
        for (var pos = 0; pos <= rest.Length; pos++)
        {
            var atEnd = pos == rest.Length;
            var ch = atEnd ? '\0' : rest[pos];
            if (inSpaces)
            {
                if (atEnd)
                {
                    break;
                }
                if (char.IsWhiteSpace(ch))
                {
                    continue;
                }
                inSpaces = false;
            }
            if (atEnd)
            {
                if (blankOk || word.Length > 0)
                {
                    words.Add(word.ToString());
                }
                break;
            }
            if (!inQuote)
            {
                if (char.IsWhiteSpace(ch))
                {
                    inSpaces = true;
                    if (blankOk || word.Length > 0)
                    {
                        words.Add(word.ToString());
                    }
                    word.Clear();
                    blankOk = false;
                    continue;
                }
                if (ch is '\'' or '"')
                {
                    quote = ch;
                    blankOk = true;
                    inQuote = true;
                }
                if (ch == escape)
                {
                    if (pos + 1 == rest.Length)
                    {
                        continue;
                    }
                    word.Append(ch);
                    ch = rest[++pos];
                }
                word.Append(ch);
                continue;
            }
            if (ch == quote)
            {
                inQuote = false;
            }
            if (ch == escape && quote != '\'')
            {
                if (pos + 1 == rest.Length)
                {
                    inQuote = false;
                    continue;
                }
                word.Append(ch);
                ch = rest[++pos];
            }
            word.Append(ch);
        }
        return words;
    }
}
