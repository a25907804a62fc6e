namespace Berth.Server.IntegrationTests.Infrastructure;

/// <summary>Paths in the repository this test assembly was built from.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The advisory snapshot the scanner tests use (PyPI, Debian, Alpine from shared/vulndata).</summary>
    public static string VulnDb => Path.Combine(Root, "src", "Berth.Scanner", "Advisories", "Bundled");

    /// <summary>src/&lt;project&gt;/bin/&lt;Configuration&gt;/net10.0/&lt;project&gt;.dll, built with the tests.</summary>
    public static string Built(string project)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // .../bin/<Configuration>/net10.0/
        var dll = Path.Combine(Root, "src", project, "bin", configuration, "net10.0", project + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("build the solution first", dll);
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Berth.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new DirectoryNotFoundException("Berth.slnx not found above the test assembly");
    }
}
