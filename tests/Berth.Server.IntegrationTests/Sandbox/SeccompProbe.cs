using System.Diagnostics;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Sandbox;

/// <summary>
/// testdata/seccomp-probe.c, compiled static on the test host (busybox has no compiler) once per run, shipped in a job's
/// build context and run as its command. It prints "ok &lt;check&gt;" or "FAIL &lt;check&gt;" per check and scores perf 1 when all pass.
/// </summary>
internal static class SeccompProbe
{
    private const string Dockerfile = "FROM busybox:latest\nCOPY probe /probe\nRUN chmod 0755 /probe\nCMD [\"/probe\"]\n";

    private static readonly Lazy<Task<byte[]>> Binary = new(CompileAsync);

    /// <summary>Submits a job that runs the probe, waits for it to end, and returns it with its logs.</summary>
    public static async Task<(JobView Job, string Logs)> RunAsync(BerthApi api)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(Dockerfile), "dockerfile" },
            { new StreamContent(TarGzBytes(("probe", await Binary.Value))), "context", "context.tar.gz" },
        };
        using var response = await api.Client.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), form);
        var job = await api.WaitTerminalAsync((await AcceptedAsync(response)).Id);
        return (job, await api.LogsAsync(job.Id));
    }

    private static async Task<byte[]> CompileAsync()
    {
        var directory = Directory.CreateTempSubdirectory("berth-seccomp-probe-");
        try
        {
            var source = Path.Combine(RepoPaths.Root, "tests", "Berth.Server.IntegrationTests", "Sandbox", "testdata", "seccomp-probe.c");
            var output = Path.Combine(directory.FullName, "probe");
            using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-static", "-O2", "-s", "-pthread", "-o", output, source])
            {
                RedirectStandardError = true,
            }) ?? throw new InvalidOperationException("gcc did not start");
            var errors = await gcc.StandardError.ReadToEndAsync();
            await gcc.WaitForExitAsync();
            return gcc.ExitCode == 0
                ? await File.ReadAllBytesAsync(output)
                : throw new InvalidOperationException($"gcc -static failed ({gcc.ExitCode}); the seccomp tests need gcc and glibc's static libraries: {errors}");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
