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
