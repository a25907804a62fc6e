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
        var containerId = await fixture.Docker.CreateJobContainerAsync(ghost);
        await fixture.Docker.TagAsync("busybox:latest", $"berth/job-{ghost}");
        var directory = Path.Combine(root, "jobs", ghost);
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        await File.WriteAllTextAsync(Path.Combine(directory, "build.log"), "left behind");

        await using var server = await BerthProcess.StartAsync(root, new Dictionary<string, string> { ["Berth:JanitorIntervalSeconds"] = "5" });

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20)
               && ((await fixture.Docker.JobContainersAsync(ghost)).Count > 0 || await fixture.Docker.ImageExistsAsync($"berth/job-{ghost}") || Directory.Exists(directory)))
        {
            await Task.Delay(200);
        }
        Assert.Empty(await fixture.Docker.JobContainersAsync(ghost));
        Assert.False(await fixture.Docker.ImageExistsAsync($"berth/job-{ghost}"));
        Assert.True(await fixture.Docker.ImageExistsAsync("busybox:latest")); // only the tag went
        Assert.False(Directory.Exists(directory));
        Assert.Contains($"container {containerId}", server.Log, StringComparison.Ordinal);
    }
}
