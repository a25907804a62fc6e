namespace Berth.Server.Dockerfiles;

/// <summary>A parsed Dockerfile: its parser directives, instructions in order and the syntax errors met.</summary>
/// <param name="Directives">The parser directives the builder honours (<c>escape</c>, <c>syntax</c>), by lower-case name.</param>
/// <param name="Escape">The escape character: <c>\</c>, or <c>`</c> with <c># escape=`</c>.</param>
public sealed record DockerfileDocument(
    IReadOnlyDictionary<string, string> Directives,
    char Escape,
    IReadOnlyList<Instruction> Instructions,
    IReadOnlyList<ParseError> Errors);

/// <summary>One instruction (after joining continuation lines).</summary>
/// <param name="Keyword">Upper-case keyword, e.g. <c>RUN</c>.</param>
/// <param name="Line">1-based physical line where the instruction starts.</param>
/// <param name="EndLine">1-based last physical line of the instruction (its last continuation line).</param>
/// <param name="Flags">Leading <c>--name=value</c> flags, in order, as the builder reads them (quotes and <c>\</c> removed).</param>
/// <param name="Arguments">The rest of the instruction, flags removed, trimmed.</param>
/// <param name="ExecForm">The JSON array when the instruction uses the exec (JSON) form.</param>
public sealed record Instruction(
    string Keyword,
    int Line,
    int EndLine,
    IReadOnlyList<InstructionFlag> Flags,
    string Arguments,
    IReadOnlyList<string>? ExecForm)
{
    /// <summary>The value of the last flag named exactly <paramref name="name"/> (flag names are case-sensitive).</summary>
    public string? Flag(string name) =>
        Flags.LastOrDefault(f => string.Equals(f.Name, name, StringComparison.Ordinal))?.Value;

    /// <summary>
    /// The words the builder sees for FROM, COPY, ADD, VOLUME and EXPOSE: the exec-form array, or the
    /// arguments split at spaces, tabs, <c>\v</c>, <c>\f</c> and <c>\r</c>.
    /// </summary>
    public IReadOnlyList<string> Words => ExecForm ?? DockerfileWords.SplitWhitespace(Arguments);
}

/// <summary>A flag; <see cref="Value"/> is null when the flag has no <c>=</c>.</summary>
public sealed record InstructionFlag(string Name, string? Value);

/// <summary>A problem the parser met. <see cref="Rule"/> is the lint rule that reports it.</summary>
public sealed record ParseError(int Line, string Message, string Rule = ParseError.Syntax)
{
    public const string Syntax = "syntax";
    public const string SizeLimit = "size-limit";
}

/// <summary>A lint finding's weight. Serialized in lower case (<c>error</c>, <c>warning</c>).</summary>
public enum LintSeverity
{
    /// <summary>Rejects the job (<c>lint_rejected</c>).</summary>
    Error,

    Warning,
}

/// <summary>A lint finding.</summary>
public sealed record LintFinding(string Rule, int Line, LintSeverity Severity, string Message);
