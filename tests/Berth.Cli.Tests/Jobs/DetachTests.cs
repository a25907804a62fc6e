using System.Diagnostics;
using Berth.Cli.Tests.Infrastructure;
using Berth.Server.Jobs;

namespace Berth.Cli.Tests.Jobs;

/// <summary>Ctrl-C during <c>submit --wait</c>, sent as a real SIGINT to the built CLI: it detaches and the job goes on.</summary>
[Collection(CliServerCollection.Name)]
public sealed class DetachTests(CliServer server) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-cli-detach-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Berth.Cli.dll as built beside the tests (the project reference copies it with its runtimeconfig).</summary>
    private static string CliDll()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "Berth.Cli.dll");
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "Berth.Cli.runtimeconfig.json")), "Berth.Cli.runtimeconfig.json is not beside the tests");
        return beside;
    }

    [Fact]
    public async Task SubmitWait_Sigint_PrintsHowToCancelExits130AndTheJobStaysQueued()
    {
        var dockerfile = Path.Combine(_dir, "Dockerfile");
        await File.WriteAllTextAsync(dockerfile, "FROM busybox:latest\n");
        var name = "sigint-" + Guid.NewGuid().ToString("N")[..8];
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in new[] { CliDll(), "submit", dockerfile, "--name", name, "--wait", "--server", server.Url.ToString() })
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment.Remove("BERTH_SERVER");
        start.Environment.Remove("BERTH_TOKEN");
        using var cli = Process.Start(start)!;
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var stderr = new System.Text.StringBuilder();
        var waiting = new TaskCompletionSource();
        cli.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
            if (e.Data?.StartsWith("berth: job ", StringComparison.Ordinal) == true)
            {
                waiting.TrySetResult(); // it is in the wait loop
            }
        };
        cli.BeginErrorReadLine();
        await waiting.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var job = await server.WaitForNamedAsync(name);

        using (var kill = Process.Start("kill", ["-INT", cli.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await stdout;

        string err;
        lock (stderr)
        {
            err = stderr.ToString();
        }
        Assert.True(cli.ExitCode == BerthCommands.Interrupted, err);
        Assert.Contains($"detached from job {job.Id}: it goes on running on the server (Ctrl-C does not cancel it).", err, StringComparison.Ordinal);
        Assert.Contains($"cancel it:  ./berth cancel {job.Id}", err, StringComparison.Ordinal);
        Assert.Equal(JobStatus.Queued, (await server.GetAsync(job.Id)).Status);
    }
}
