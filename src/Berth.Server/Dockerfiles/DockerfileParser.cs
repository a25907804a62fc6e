using System.Text;
using System.Text.RegularExpressions;
using Berth.Scanner;

namespace Berth.Server.Dockerfiles;

/// <summary>
/// Parses Dockerfile text exactly as the engine's classic builder does (moby/buildkit v0.8
/// <c>frontend/dockerfile/parser</c>, vendored by Docker 20.10), so that lint sees every instruction
/// the engine will run:
/// <list type="bullet">
/// <item>lines end at <c>\n</c>, one trailing <c>\r</c> is dropped, a UTF-8 BOM at the start is dropped;</item>
/// <item>parser directives (<c>escape</c>, <c>syntax</c>) only before anything else; any other comment,
/// blank line or unknown directive (<c>check</c> included) ends them;</item>
/// <item>a line continues when it ends in the escape character followed only by spaces and tabs,
/// unless that character is itself escaped; comment lines and blank lines inside a continuation are
/// skipped; continuation lines keep their leading whitespace;</item>
/// <item>there are no here-documents: the lines after <c>RUN &lt;&lt;EOF</c> are instructions.</item>
/// <item>Berth also refuses a file that ends inside a continuation.</item>
/// </list>
/// It never throws on bad input: problems become <see cref="ParseError"/>s.
/// </summary>
public static partial class DockerfileParser
{
    /// <summary>Directive names the classic builder honours.</summary>
    private static readonly HashSet<string> KnownDirectives = new(StringComparer.Ordinal) { "escape", "syntax" };

    // reDirectives, with Go's \s ([\t\n\f\r ]) spelled out.
    [GeneratedRegex(@"\A#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex DirectiveRegex();

    public static DockerfileDocument Parse(string text)
    {
        var lines = SplitLines(text);
        var state = new ParseState();

        for (var i = 0; i < lines.Count; i++)
        {
            state.CheckLineLength(lines[i], i + 1);
            var token = lines[i].TrimStart();
            var isComment = token.StartsWith('#');
            if (!state.DirectivesDone)
            {
                state.ReadDirective(token, i + 1);
            }
            else if (isComment && state.Instructions.Count == 0)
            {
                state.CheckIgnoredDirective(token, i + 1);
            }

            var startLine = i + 1;
            var (content, continues) = TrimContinuation(isComment ? "" : token, state.Escape);
            if (!continues && content.Length == 0)
            {
                continue;
            }
            var logical = new StringBuilder(content);
            while (continues && i + 1 < lines.Count)
            {
                var next = lines[++i];
                state.CheckLineLength(next, i + 1);
                var trimmed = next.TrimStart();
                if (trimmed.Length == 0 || trimmed[0] == '#')
                {
                    continue; // blank and comment lines inside a continuation are skipped
                }
                (content, continues) = TrimContinuation(next, state.Escape);
                logical.Append(content);
            }
            if (continues)
            {
                state.EndsInContinuation(startLine);
            }
            state.AddInstruction(logical.ToString(), startLine, i + 1);
        }

        return state.ToDocument();
    }

    /// <summary>Lines as Go's <c>bufio.ScanLines</c> yields them (no empty last line after a final newline).</summary>
    private static List<string> SplitLines(string text)
    {
        if (text.StartsWith('\uFEFF'))
        {
            text = text[1..];
        }
        var lines = new List<string>(text.Split('\n'));
        if (lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].EndsWith('\r'))
            {
                lines[i] = lines[i][..^1];
            }
        }
        return lines;
    }

    /// <summary>
    /// <c>trimContinuationCharacter</c>: the regex <c>([^E])E[ \t]*$|^E[ \t]*$</c> for the escape
    /// character E. A match drops E and the blanks after it.
    /// </summary>
    internal static (string Content, bool Continues) TrimContinuation(string line, char escape)
    {
        var end = line.Length;
        while (end > 0 && line[end - 1] is ' ' or '\t')
        {
            end--;
        }
        if (end == 0 || line[end - 1] != escape)
        {
            return (line, false);
        }
        var at = end - 1;
        if (at > 0 && line[at - 1] == escape)
        {
            return (line, false); // an escaped escape character is not a continuation
        }
        return (line[..at], true);
    }

    private sealed class ParseState
    {
        private readonly Dictionary<string, string> _directives = new(StringComparer.Ordinal);
        private readonly List<ParseError> _errors = [];
        private int _droppedErrors;

        public bool DirectivesDone { get; private set; }

        public char Escape { get; private set; } = '\\';

        public List<Instruction> Instructions { get; } = [];

        public void ReadDirective(string token, int line)
        {
            var m = DirectiveRegex().Match(token);
            var name = m.Success ? m.Groups[1].Value.ToLowerInvariant() : "";
            if (!KnownDirectives.Contains(name))
            {
                DirectivesDone = true;
                CheckIgnoredDirective(token, line);
                return;
            }
            var value = m.Groups[2].Value;
            if (!_directives.TryAdd(name, value))
            {
                Error(line, $"parser directive '{name}' is given more than once");
                return;
            }
            if (name == "escape")
            {
                if (value is "\\" or "`")
                {
                    Escape = value[0];
                }
                else
                {
                    Error(line, $"invalid escape directive '{Ellipsis.Truncate(value, 20)}': it must be \\ or `");
                }
            }
        }

        /// <summary>
        /// A comment that looks like an <c>escape</c> or <c>syntax</c> directive but comes too late to be one.
        /// The classic builder ignores it; newer builders may not, so Berth refuses the ambiguity.
        /// </summary>
        public void CheckIgnoredDirective(string token, int line)
        {
            var m = DirectiveRegex().Match(token);
            if (m.Success && KnownDirectives.Contains(m.Groups[1].Value.ToLowerInvariant()))
            {
                Error(line, $"'{Ellipsis.Truncate(token, 40)}' looks like a parser directive but is only a comment here: directives must come first, before any other comment, blank line or instruction");
            }
        }

        /// <summary>
        /// The builder accepts a file that ends inside a continuation, but a line added after it (Berth
        /// adds some after each FROM) would join the instruction, so Berth refuses it.
        /// </summary>
        public void EndsInContinuation(int line) =>
            Error(line, $"the instruction on line {line} ends the file inside a line continuation (its last line ends with '{Escape}'); remove the trailing '{Escape}'");

        public void CheckLineLength(string line, int number)
        {
            if (line.Length > DockerfileLimits.MaxLineBytes / 4 && Encoding.UTF8.GetByteCount(line) > DockerfileLimits.MaxLineBytes)
            {
                Error(number, $"line {number} is longer than {DockerfileLimits.MaxLineBytes} bytes", ParseError.SizeLimit);
            }
        }

        public void AddInstruction(string logical, int line, int endLine)
        {
            if (logical.Length > DockerfileLimits.MaxInstructionBytes / 4 && Encoding.UTF8.GetByteCount(logical) > DockerfileLimits.MaxInstructionBytes)
            {
                Error(line, $"the instruction on lines {line}-{endLine} is longer than {DockerfileLimits.MaxInstructionBytes} bytes", ParseError.SizeLimit);
                return;
            }
            var instruction = InstructionParser.Parse(logical, line, endLine, out var error);
            if (error is not null)
            {
                Error(line, error);
            }
            if (instruction is not null)
            {
                Instructions.Add(instruction);
            }
        }

        public DockerfileDocument ToDocument()
        {
            if (_droppedErrors > 0)
            {
                _errors.Add(new ParseError(_errors[^1].Line, $"{_droppedErrors} more parse error(s) not shown"));
            }
            return new DockerfileDocument(_directives, Escape, Instructions, _errors);
        }

        private void Error(int line, string message, string rule = ParseError.Syntax)
        {
            if (_errors.Count < DockerfileLimits.MaxParseErrors)
            {
                _errors.Add(new ParseError(line, message, rule));
            }
            else
            {
                _droppedErrors++;
            }
        }
    }

}
