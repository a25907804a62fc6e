using System.Diagnostics;

namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>Host commands (<c>ip</c>, <c>kill</c>, <c>umount</c>, ...) run to completion, with their output.</summary>
public static class Shell
{
    /// <summary>Runs <paramref name="file"/> and returns its standard output; a non-zero exit throws, with both outputs.</summary>
    public static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var (exitCode, output, error) = await TryRunAsync(file, arguments);
        return exitCode == 0
            ? output
            : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({exitCode}): {error}{output}");
    }

    /// <summary>Runs <paramref name="file"/> and returns its exit code and outputs, whatever they are.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> TryRunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
