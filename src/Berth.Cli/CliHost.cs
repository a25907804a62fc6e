namespace Berth.Cli;

/// <summary>
/// What the command line takes from the process around it, so that tests can run it in-process: whether stdout and
/// stderr are terminals (tables and live progress, or plain text), the environment (<c>BERTH_SERVER</c>,
/// <c>BERTH_TOKEN</c>), how often <c>--wait</c> polls a server without the events stream, and the token Ctrl-C cancels.
/// </summary>
public sealed record CliHost(
    bool StdoutIsTerminal,
    bool StderrIsTerminal,
    Func<string, string?> Environment,
    TimeSpan PollInterval,
    TimeProvider Time,
    CancellationToken Interrupt)
{
    /// <summary>No terminal, the process's environment, one poll a second, no Ctrl-C.</summary>
    public static CliHost Plain { get; } = new(false, false, System.Environment.GetEnvironmentVariable, TimeSpan.FromSeconds(1), TimeProvider.System, CancellationToken.None);

    /// <summary>The real console: terminals as they are, Ctrl-C cancelling <paramref name="interrupt"/>.</summary>
    public static CliHost ForConsole(CancellationToken interrupt) =>
        Plain with { StdoutIsTerminal = !Console.IsOutputRedirected, StderrIsTerminal = !Console.IsErrorRedirected, Interrupt = interrupt };
}
