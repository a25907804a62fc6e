using System.Diagnostics;
using System.Text.Json;
using Berth.Server.IntegrationTests.Infrastructure;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Cli;

/// <summary>
/// The client as a user runs it (the built Berth.Cli in its own process) against a server whose jobs really build, scan
/// and run: the exit codes of <c>submit --wait</c>, a directory context with a .dockerignore, the live log, cancel.
/// The commands' other cases run against an in-process server in tests/Berth.Cli.Tests.
/// </summary>
[Collection(BerthCollection.Name)]
public sealed class CliTests(BerthFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-it-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task SubmitWait_DirectoryWithDockerignore_ExitsZeroWithTheJobOnStdoutAndTheLogOnStderr()
    {
        // The build itself proves what was sent: it fails unless keep.txt came and secret.txt (ignored) did not.
        File.WriteAllText(Path.Combine(_dir, "keep.txt"), "kept\n");
        File.WriteAllText(Path.Combine(_dir, "secret.txt"), "must not be sent\n");
        Directory.CreateDirectory(Path.Combine(_dir, "cache"));
        File.WriteAllText(Path.Combine(_dir, "cache", "big.bin"), "ignored too\n");
        File.WriteAllText(Path.Combine(_dir, ".dockerignore"), "secret.txt\ncache/\n");
        File.WriteAllText(Path.Combine(_dir, "Dockerfile"),
            "FROM busybox:latest\nCOPY . /ctx/\nRUN test -f /ctx/keep.txt && test ! -e /ctx/secret.txt && test ! -e /ctx/cache\n" +
            "CMD [\"sh\", \"-c\", \"echo line-from-the-run; echo '{\\\"perf\\\": 0.75}' > /data/perf.json\"]\n");

        var result = await RunCliAsync("submit", _dir, "--name", "cli-dir", "--wait", "--logs", "--output", "json");

        Assert.True(result.Exit == 0, result.ToString());
        using var job = JsonDocument.Parse(result.Out);
        Assert.Equal("succeeded", job.RootElement.GetProperty("status").GetString());
        Assert.Equal(0.75, job.RootElement.GetProperty("performance").GetDouble());
        Assert.Equal("cli-dir", job.RootElement.GetProperty("name").GetString());
        Assert.Contains("line-from-the-run", result.Err, StringComparison.Ordinal);
        Assert.Contains("==> run log <==", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitWait_ProgramExitsNonZero_ExitsOneNamingTheReason()
    {
        var dockerfile = Path.Combine(_dir, "Dockerfile");
        File.WriteAllText(dockerfile, Busybox("exit 3"));

        var result = await RunCliAsync("submit", dockerfile, "--wait");

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Contains("nonzero_exit", result.Err, StringComparison.Ordinal);
        Assert.Contains("failed", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitWait_BuildFails_ExitsOneNamingTheReason()
    {
        var dockerfile = Path.Combine(_dir, "Dockerfile");
        File.WriteAllText(dockerfile, "FROM busybox:latest\nRUN exit 7\nCMD [\"true\"]\n");

        var result = await RunCliAsync("submit", dockerfile, "--wait", "--output", "json");

        Assert.True(result.Exit == 1, result.ToString());
        using var job = JsonDocument.Parse(result.Out);
        Assert.Equal("build_failed", job.RootElement.GetProperty("failure").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task SubmitWait_CanceledFromAnotherShell_ExitsOne()
    {
        var dockerfile = Path.Combine(_dir, "Dockerfile");
        File.WriteAllText(dockerfile, Busybox("echo started; sleep 60"));
        var name = $"cli-cancel-{Guid.NewGuid():N}";

        var waiting = RunCliAsync("submit", dockerfile, "--name", name, "--wait");
        var id = await IdOfRunningAsync(name);
        var cancel = await RunCliAsync("cancel", id);
        var result = await waiting;

        Assert.True(cancel.Exit == 0, cancel.ToString());
        Assert.True(result.Exit == 1, result.ToString());
        Assert.Contains("canceled", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogsFollow_RunningJob_PrintsEveryLineInOrderAndEndsWithTheJob()
    {
        var job = await fixture.Api.SubmitAsync(Busybox("for i in $(seq 1 40); do echo count-$i; sleep 0.05; done; echo '{\"perf\": 1}' > /data/perf.json"));

        var result = await RunCliAsync("logs", job.Id, "--follow");

        Assert.True(result.Exit == 0, result.ToString());
        var counts = result.Out.Split('\n').Where(l => l.StartsWith("count-", StringComparison.Ordinal)).ToList();
        Assert.Equal(Enumerable.Range(1, 40).Select(i => $"count-{i}"), counts);
        Assert.Equal(Berth.Server.Jobs.JobStatus.Succeeded, (await fixture.Api.GetAsync(job.Id)).Status);
    }

    [Fact]
    public async Task Submit_ServerNotListening_ExitsTwoSayingSo()
    {
        var dockerfile = Path.Combine(_dir, "Dockerfile");
        File.WriteAllText(dockerfile, Busybox("true"));

        var result = await RunCliAsync(new Uri("http://127.0.0.1:1"), "submit", dockerfile, "--wait");

        Assert.True(result.Exit == 2, result.ToString());
        Assert.Contains("cannot reach", result.Err, StringComparison.Ordinal);
    }

    private async Task<string> IdOfRunningAsync(string name)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            // Plain output (stdout is not a terminal): a header, then ID, STATUS, NAME, ... separated by tabs.
            var list = await RunCliAsync("jobs", "--status", "running", "--limit", "50");
            var row = list.Out.Split('\n').Skip(1).Select(l => l.Split('\t')).FirstOrDefault(cells => cells.Length > 2 && cells[2] == name);
            if (row is not null)
            {
                Assert.Equal("running", row[1]);
                return row[0];
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"job {name} did not start running");
    }

    private Task<CliResult> RunCliAsync(params string[] args) => RunCliAsync(fixture.Server.Client.BaseAddress!, args);

    /// <summary>Runs the built client with stdout and stderr captured (so neither is a terminal: plain output).</summary>
    internal static async Task<CliResult> RunCliAsync(Uri server, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(RepoPaths.Built("Berth.Cli"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["BERTH_SERVER"] = server.ToString().TrimEnd('/');
        start.Environment.Remove("BERTH_TOKEN");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}

internal sealed record CliResult(int Exit, string Out, string Err)
{
    public override string ToString() => $"exit {Exit}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
}
