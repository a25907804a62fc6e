namespace Berth.Cli.Tests;

/// <summary>Paths in the repository the tests run from.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The bundled advisory snapshot (src/Berth.Scanner/Advisories/Bundled), or a path inside it.</summary>
    public static string Bundled(params string[] parts) => Path.Combine([Root, "src", "Berth.Scanner", "Advisories", "Bundled", .. parts]);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "Berth.slnx")))
        {
            dir = dir.Parent;
        }
        return dir.FullName;
    }
}

/// <summary>Runs the command line in-process, capturing what it prints.</summary>
public static class Cli
{
    public static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await BerthCommands.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
