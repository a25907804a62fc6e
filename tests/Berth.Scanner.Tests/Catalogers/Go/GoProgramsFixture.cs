using System.Diagnostics;

namespace Berth.Scanner.Tests.Catalogers.Go;

/// <summary>
/// Real Go executables, built once per test class from testdata/go with the machine's <c>go</c>
/// (Debian's golang-go, Go 1.19), offline: vendored dependencies, no proxy, no cgo, a private cache
/// (about half a second per program: Debian ships the standard library precompiled).
/// Without <c>go</c> every test that uses it fails, saying how to install it.
/// </summary>
public sealed class GoProgramsFixture : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-go-").FullName;

    public GoProgramsFixture()
    {
        var go = FindOnPath("go") ?? throw new InvalidOperationException(
            "`go` is not on PATH: the Go build-info tests build real Go programs. `./test.sh` installs Debian's golang-go "
            + "(scripts/setup.sh --test); by hand: apt-get install -y golang-go");
        var watch = Stopwatch.StartNew();
        Hello = Build(go, "hello");
        App = Build(go, "app");
        BuildTime = watch.Elapsed;
    }

    /// <summary>A program using the standard library only.</summary>
    public string Hello { get; }

    /// <summary>A program with a vendored golang.org/x/text v0.3.5, a module replaced by golang.org/x/net, and a local replacement.</summary>
    public string App { get; }

    public TimeSpan BuildTime { get; }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Build(string go, string program)
    {
        var source = Path.Combine(_root, "src", program);
        CopyDirectory(TestData.Path("go", program), source);
        var output = Path.Combine(_root, "bin", program);
        var start = new ProcessStartInfo(go, ["build", "-o", output, "."])
        {
            WorkingDirectory = source,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in new Dictionary<string, string>
        {
            ["GOFLAGS"] = "-mod=vendor",
            ["GOPROXY"] = "off",
            ["GOSUMDB"] = "off",
            ["GOTOOLCHAIN"] = "local",
            ["GOWORK"] = "off",
            ["GOENV"] = "off",
            ["GO111MODULE"] = "on",
            ["CGO_ENABLED"] = "0",
            ["GOCACHE"] = Path.Combine(_root, "cache"),
            ["GOPATH"] = Path.Combine(_root, "gopath"),
        })
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"go build {program} took over 2 minutes");
        }
        if (process.ExitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"go build {program} failed ({process.ExitCode}): {stderr.Result}{stdout.Result}");
        }
        return output;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
