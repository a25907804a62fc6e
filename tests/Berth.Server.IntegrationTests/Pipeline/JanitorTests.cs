using System.Diagnostics;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;

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
        // A forged gVisor gofer, as a job under runc could start: it calls itself runsc-gofer and names a container this
        // instance recorded and the engine no longer has, but it is not the engine's runsc binary and not in that
        // container's cgroup. The janitor must leave it alone (and forget the container).
        var forgedId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var record = Path.Combine(root, RunscContainers.DirectoryName, forgedId);
        Directory.CreateDirectory(Path.GetDirectoryName(record)!);
        await File.WriteAllBytesAsync(record, []);
        using var forged = Process.Start("bash", ["-c", $"exec -a runsc-gofer /bin/sh -c 'sleep 300 & wait' {forgedId}"]);
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        await File.WriteAllTextAsync(Path.Combine(directory, "build.log"), "left behind");
        Directory.SetLastWriteTimeUtc(directory, DateTime.UtcNow.AddHours(-1)); // older than a submission in progress

        await using var server = await BerthProcess.StartAsync(root, new Dictionary<string, string> { ["Berth:JanitorIntervalSeconds"] = "5" });

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20)
               && ((await fixture.Docker.JobContainersAsync(ghost)).Count > 1 || await fixture.Docker.ImageExistsAsync($"berth-{instance}/job-{ghost}")
                   || Directory.Exists(directory) || File.Exists(record)))
        {
            await Task.Delay(200);
        }
        var forgedAlive = !forged.HasExited;
        forged.Kill(entireProcessTree: true);
        Assert.Equal([otherContainer], (await fixture.Docker.JobContainersAsync(ghost)).Select(c => c.ID)); // another Berth's: untouched
        await fixture.Docker.RemoveContainerAsync(otherContainer);
        Assert.False(await fixture.Docker.ImageExistsAsync($"berth-{instance}/job-{ghost}"));
        Assert.True(await fixture.Docker.ImageExistsAsync("busybox:latest")); // only the tag went
        Assert.False(Directory.Exists(directory));
        Assert.False(File.Exists(record)); // the janitor looked at it: gone from the engine, no gVisor process names it
        Assert.True(forgedAlive, "the janitor killed a process that only calls itself runsc-gofer");
        Assert.Contains($"container {containerId}", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImageRetention_KeepsTheImageForTheBuildCacheAndReuse_ThenTheJanitorRemovesIt()
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
        var second = await api.RunAsync(dockerfile, cache: false); // builds: on the engine's warm build cache
        Assert.Contains("Using cache", await api.LogsAsync(second.Id), StringComparison.Ordinal);
        Assert.False(second.CacheHit);
        var third = await api.RunAsync(dockerfile); // an identical resubmission: no build at all
        Assert.Equal(JobStatus.Succeeded, third.Status);
        Assert.Equal(1, third.Performance);
        Assert.True(third.CacheHit);
        Assert.Contains("[berth] reused image", await api.LogsAsync(third.Id), StringComparison.Ordinal);
        Assert.DoesNotContain("Step 1/", await api.LogsAsync(third.Id), StringComparison.Ordinal);
        Assert.True(await fixture.Docker.JobImageExistsAsync(third.Id)); // under a tag of its own

        var clock = Stopwatch.StartNew();
        var ids = new[] { first.Id, second.Id, third.Id };
        while (await AnyImageAsync() && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(250);
        }
        Assert.False(await AnyImageAsync());

        async Task<bool> AnyImageAsync()
        {
            foreach (var id in ids)
            {
                if (await fixture.Docker.JobImageExistsAsync(id))
                {
                    return true;
                }
            }
            return false;
        }
    }
}
