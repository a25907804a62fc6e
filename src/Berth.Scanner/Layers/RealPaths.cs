namespace Berth.Scanner.Layers;

/// <summary>Canonical host paths (realpath(3)), for callers outside the scanner that compare paths as the kernel records them.</summary>
public static class RealPaths
{
    /// <summary>The path with every link resolved, or null when it does not exist.</summary>
    public static string? Resolve(string path) => LinuxFiles.RealPath(path);
}
