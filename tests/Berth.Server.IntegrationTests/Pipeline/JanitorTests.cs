using System.Diagnostics;
using Berth.Server.IntegrationTests.Infrastructure;

namespace Berth.Server.IntegrationTests.Pipeline;

[Collection(BerthCollection.Name)]
public sealed class JanitorTests(BerthFixture fixture)
{
    [Fact]
    public async Task Janitor_RemovesContainersImagesAndDirectoriesOfVanishedJobs()
    {
        var root = TempRoot.Create("janitor");
        var ghost = Guid.NewGuid().ToString("N");
        var instance = Infrastructure.Docker.InstanceOf(root);
        var containerId = await fixture.Docker.CreateJobContainerAsync(ghost, instance);
        var otherContainer = await fixture.Docker.CreateJobContainerAsync(ghost, "0therb3r");
        await fixture.Docker.TagAsync("busybox:latest", $"berth-{instance}/job-{ghost}");
        var directory = Path.Combine(root, "jobs", ghost);
        // A stray gVisor gofer of a container the engine no longer has (its id is on the command line).
        var strayDir = Path.Combine(root, "stray", Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant());
        Directory.CreateDirectory(strayDir);
        File.Copy("/bin/sleep", Path.Combine(strayDir, "runsc-gofer"));
        File.SetUnixFileMode(Path.Combine(strayDir, "runsc-gofer"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        using var stray = Process.Start(Path.Combine(strayDir, "runsc-gofer"), "300");
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        await File.WriteAllTextAsync(Path.Combine(directory, "build.log"), "left behind");
        Directory.SetLastWriteTimeUtc(directory, DateTime.UtcNow.AddHours(-1)); // older than a submission in progress

        await using var server = await BerthProcess.StartAsync(root, new Dictionary<string, string> { ["Berth:JanitorIntervalSeconds"] = "5" });

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20)
               && ((await fixture.Docker.JobContainersAsync(ghost)).Count > 1 || await fixture.Docker.ImageExistsAsync($"berth-{instance}/job-{ghost}") || Directory.Exists(directory)))
        {
            await Task.Delay(200);
        }
        Assert.Equal([otherContainer], (await fixture.Docker.JobContainersAsync(ghost)).Select(c => c.ID)); // another Berth's: untouched
        await fixture.Docker.RemoveContainerAsync(otherContainer);
        Assert.False(await fixture.Docker.ImageExistsAsync($"berth-{instance}/job-{ghost}"));
        Assert.True(await fixture.Docker.ImageExistsAsync("busybox:latest")); // only the tag went
        Assert.False(Directory.Exists(directory));
        Assert.True(stray.WaitForExit(TimeSpan.FromSeconds(10)), "the stray runsc-gofer process is still running");
        Assert.Contains($"container {containerId}", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImageRetention_KeepsTheImageForTheBuildCache_ThenTheJanitorRemovesIt()
    {
        await using var server = await BerthProcess.StartAsync(TempRoot.Create("retention"), new Dictionary<string, string>
        {
            ["Build:ImageRetentionSeconds"] = "4",
            ["Berth:JanitorIntervalSeconds"] = "5",
            ["Scan:Enabled"] = "false",
        });
        var api = new BerthApi(server.Client);
        var dockerfile = BerthApi.Busybox($"echo '{{\"perf\": 1}}' > /data/perf.json # {Guid.NewGuid():N}");

        var first = await api.RunAsync(dockerfile);
        Assert.True(await fixture.Docker.JobImageExistsAsync(first.Id)); // retained
        var second = await api.RunAsync(dockerfile);
        Assert.Contains("Using cache", await api.LogsAsync(second.Id), StringComparison.Ordinal);

        var clock = Stopwatch.StartNew();
        while ((await fixture.Docker.JobImageExistsAsync(first.Id) || await fixture.Docker.JobImageExistsAsync(second.Id)) && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(250);
        }
        Assert.False(await fixture.Docker.JobImageExistsAsync(first.Id));
        Assert.False(await fixture.Docker.JobImageExistsAsync(second.Id));
    }
}
