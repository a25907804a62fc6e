using Berth.Scanner.Advisories;

namespace Berth.Tests.Shared;

/// <summary>
/// The bundled advisory database, installed once per test process (about 6 s) and shared by every in-process server
/// of that process, so the server's start-up install finds a database and does nothing. One folder per test process,
/// named by its pid: the test host may end without running exit handlers, so each run removes the folders of test
/// processes that are gone (only its own <paramref name="kind"/>, never one in use).
/// </summary>
public static class TestAdvisoryDatabase
{
    public static Lazy<string> For(string kind) => new(() => Install(kind));

    private static string Install(string kind)
    {
        var prefix = $"berth-{kind}-vulndb-";
        foreach (var old in new DirectoryInfo(Path.GetTempPath()).EnumerateDirectories(prefix + "*"))
        {
            if (int.TryParse(old.Name[prefix.Length..], out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                old.Delete(recursive: true);
            }
        }
        var parent = Path.Combine(Path.GetTempPath(), $"{prefix}{Environment.ProcessId}");
        Directory.CreateDirectory(parent);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(parent, recursive: true);
        var folder = Path.Combine(parent, "vulndb");
        BundledDatabase.InstallAsync(folder, TimeProvider.System, CancellationToken.None).GetAwaiter().GetResult();
        return folder;
    }
}
