namespace Berth.Cli.Tests.Infrastructure;

/// <summary>What one run of the command line printed and returned.</summary>
public sealed record CliResult(int Exit, string Out, string Err);

/// <summary>
/// Runs the command line in-process against a server, capturing stdout and stderr: no terminal, the given environment
/// (nothing of the test process's own), a fast poll, and an interrupt the test can trigger (Ctrl-C).
/// </summary>
public sealed class CliRun(Uri? server = null, IReadOnlyDictionary<string, string>? environment = null)
{
    public CancellationTokenSource Interrupt { get; } = new();

    public StringWriter Out { get; } = new();

    public StringWriter Err { get; } = new();

    public CliHost Host => new(false, false, name => environment?.GetValueOrDefault(name), TimeSpan.FromMilliseconds(50), TimeProvider.System, Interrupt.Token);

    /// <summary>Runs <paramref name="args"/>, with <c>--server</c> added when a server was given.</summary>
    public async Task<CliResult> RunAsync(params string[] args)
    {
        var all = server is null ? args : [.. args, "--server", server.ToString()];
        var exit = await BerthCommands.RunAsync(all, Out, Err, Host);
        return new CliResult(exit, Out.ToString(), Err.ToString());
    }

    public static Task<CliResult> RunAsync(Uri server, params string[] args) => new CliRun(server).RunAsync(args);
}
