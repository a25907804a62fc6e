namespace Berth.Server.Dockerfiles;

/// <summary>A parsed Dockerfile: its parser directives, instructions in order and the syntax errors met.</summary>
public sealed record DockerfileDocument(
    IReadOnlyDictionary<string, string> Directives,
    IReadOnlyList<Instruction> Instructions,
    IReadOnlyList<ParseError> Errors);

/// <summary>One instruction (after joining continuation lines).</summary>
/// <param name="Keyword">Upper-case keyword, e.g. <c>RUN</c>.</param>
/// <param name="Line">1-based line where the instruction starts.</param>
/// <param name="Flags">Leading <c>--name=value</c> flags, in order.</param>
/// <param name="Arguments">The rest of the instruction, flags removed, as written.</param>
/// <param name="ExecForm">The JSON array when the instruction uses the exec (JSON) form.</param>
/// <param name="Heredocs">Here-documents that follow the instruction.</param>
public sealed record Instruction(
    string Keyword,
    int Line,
    IReadOnlyList<InstructionFlag> Flags,
    string Arguments,
    IReadOnlyList<string>? ExecForm,
    IReadOnlyList<Heredoc> Heredocs)
{
    public string? Flag(string name) =>
        Flags.LastOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase))?.Value;
}

public sealed record InstructionFlag(string Name, string? Value);

public sealed record Heredoc(string Name, string Content);

public sealed record ParseError(int Line, string Message);

/// <summary>A lint finding. <see cref="Severity"/> is <c>error</c> (rejects the job) or <c>warning</c>.</summary>
public sealed record LintFinding(string Rule, int Line, string Severity, string Message)
{
    public const string Error = "error";
    public const string Warning = "warning";
}
