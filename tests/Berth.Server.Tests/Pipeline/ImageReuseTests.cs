using Berth.Server.Docker;
using Berth.Server.Jobs;

namespace Berth.Server.Tests.Pipeline;

/// <summary>An identical resubmission reuses the image (<see cref="Berth.Server.Pipeline.Stages.ImageReuse"/>), and nothing else does.</summary>
public sealed class ImageReuseTests
{
    private static int Builds(RunnerHarness h) => h.Engine.Calls.Count(c => c.StartsWith("BuildAsync ", StringComparison.Ordinal));

    [Fact]
    public async Task RunAsync_IdenticalResubmission_ReusesTheImageUnderItsOwnTagWithoutBuilding()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1}");
        var first = await h.RunJobAsync();

        var second = await h.RunJobAsync();

        Assert.Equal(JobStatus.Succeeded, second.Status);
        Assert.False(first.CacheHit);
        Assert.True(second.CacheHit);
        Assert.Equal(1, Builds(h));
        Assert.Equal(first.ImageId, second.ImageId);
        Assert.True(h.Engine.HasImage(h.Names.ImageTag(second.Id)));
        Assert.Contains("reused image", await File.ReadAllTextAsync(h.PathsOf(second.Id).BuildLog), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_CacheFalse_BuildsAgain()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1}");
        await h.RunJobAsync();

        var second = await h.RunJobAsync(cache: false);
        await h.Engine.RemoveImageAsync(h.Names.ImageTag((await h.Store.ListAsync(null, null, 2, null, CancellationToken.None))[1].Id), prune: true, CancellationToken.None);
        var third = await h.RunJobAsync();

        Assert.Equal(JobStatus.Succeeded, second.Status);
        Assert.False(second.CacheHit);
        Assert.Equal(2, Builds(h));
        Assert.True(third.CacheHit); // the image built with "cache": false is reusable by later identical submissions
        Assert.Equal(second.ImageId, third.ImageId);
    }

    [Fact]
    public async Task RunAsync_AnotherOwnersIdenticalSubmission_BuildsItsOwn()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1}");
        await h.RunJobAsync(owner: "alice");

        var bobs = await h.RunJobAsync(owner: "bob");

        Assert.False(bobs.CacheHit);
        Assert.Equal(2, Builds(h));
    }

    [Fact]
    public async Task RunAsync_DifferentDockerfile_Builds()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1}");
        await h.RunJobAsync();

        var other = await h.RunJobAsync("FROM busybox:latest\nCMD [\"false\"]\n");

        Assert.False(other.CacheHit);
        Assert.Equal(2, Builds(h));
    }

    [Fact]
    public async Task RunAsync_BaseImageReplacedSinceTheBuild_Builds()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1}");
        await h.RunJobAsync();
        h.Engine.AddImage("busybox:latest", layers: ["sha256:" + new string('9', 64)], id: "sha256:" + new string('8', 64)); // the operator loaded a new busybox

        var again = await h.RunJobAsync();

        Assert.False(again.CacheHit);
        Assert.Equal(2, Builds(h));
    }

    [Fact]
    public async Task RunAsync_ReusableImageRemovedByTheJanitor_Builds()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1}");
        var first = await h.RunJobAsync();
        await h.Engine.RemoveImageAsync(h.Names.ImageTag(first.Id), prune: true, CancellationToken.None);

        var again = await h.RunJobAsync();

        Assert.False(again.CacheHit);
        Assert.Equal(2, Builds(h));
    }

    [Fact]
    public async Task ReleaseAsync_ReusedJobsImage_RemovesOnlyItsOwnTag()
    {
        await using var h = await RunnerHarness.CreateAsync();
        h.Engine.Run = RunnerHarness.WritesPerf("{\"perf\": 1}");
        var first = await h.RunJobAsync();
        var second = await h.RunJobAsync();

        await h.Resources.ReleaseAsync(second.Id, Berth.Server.Pipeline.JobParts.Image, CancellationToken.None);

        Assert.False(h.Engine.HasImage(h.Names.ImageTag(second.Id)));
        Assert.True(h.Engine.HasImage(h.Names.ImageTag(first.Id)));
    }

    private static async Task<string> KeyOfAsync(string directory, string name, params (string Name, string Text, UnixFileMode Mode, DateTimeOffset Time)[] files)
    {
        var path = Path.Combine(directory, name);
        await using (var output = File.Create(path))
        await using (var writer = new System.Formats.Tar.TarWriter(output, System.Formats.Tar.TarEntryFormat.Pax))
        {
            foreach (var file in files)
            {
                await writer.WriteEntryAsync(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, file.Name)
                {
                    DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(file.Text)),
                    Mode = file.Mode,
                    ModificationTime = file.Time,
                });
            }
        }
        return await Berth.Server.Pipeline.Stages.ImageReuse.KeyAsync(path, [("busybox:latest", "sha256:1")], "owner-key", "recipe", CancellationToken.None);
    }

    [Fact]
    public async Task KeyAsync_SameContentUploadedAgainLater_SameKey_AnyChangeThatReachesTheImage_AnotherKey()
    {
        var directory = Directory.CreateTempSubdirectory("berth-reuse-key-").FullName;
        try
        {
            const UnixFileMode rw = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            var then = DateTimeOffset.UnixEpoch.AddDays(1);
            var key = await KeyOfAsync(directory, "a.tar", ("Dockerfile", "FROM busybox\n", rw, then), ("run.sh", "echo 1", rw, then));

            Assert.Equal(key, await KeyOfAsync(directory, "b.tar", ("Dockerfile", "FROM busybox\n", rw, then.AddHours(5)), ("run.sh", "echo 1", rw, then.AddDays(3))));
            Assert.NotEqual(key, await KeyOfAsync(directory, "c.tar", ("Dockerfile", "FROM busybox\n", rw, then), ("run.sh", "echo 2", rw, then)));
            Assert.NotEqual(key, await KeyOfAsync(directory, "d.tar", ("Dockerfile", "FROM busybox\n", rw, then), ("run.sh", "echo 1", rw | UnixFileMode.UserExecute, then)));
            Assert.NotEqual(key, await KeyOfAsync(directory, "e.tar", ("Dockerfile", "FROM busybox\n", rw, then), ("run.s", "hecho 1", rw, then)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(StageStatus.Running)] // still building: the size check has not passed yet
    [InlineData(StageStatus.Failed)] // e.g. over Build:MaxImageMb; its tag may outlive the failure for a moment
    public async Task FindAsync_ImageOfAJobWhoseBuildHasNotSucceeded_IsNotReused(StageStatus build)
    {
        await using var h = await RunnerHarness.CreateAsync();
        var (key, owner) = (new string('c', 64), "alice");
        var claimed = await h.SubmitAsync(owner: owner);
        var image = h.Engine.AddImage(h.Names.ImageTag(claimed.Id), new Dictionary<string, string>
        {
            [EngineNames.ContentLabel] = key, [EngineNames.CacheLabel] = "ck", [EngineNames.InstanceLabel] = h.Names.Instance,
        });
        var job = await h.ClaimAsync();
        await h.Store.SaveAsync((job with { ImageId = image.Id, Status = JobStatus.Building }).WithStage("build", build, DateTimeOffset.UnixEpoch), CancellationToken.None);

        Assert.Null(await h.Reuse.FindAsync(key, "ck", owner, CancellationToken.None));

        await h.Store.SaveAsync((job with { ImageId = image.Id, Status = JobStatus.Scanning }).WithStage("build", StageStatus.Succeeded, DateTimeOffset.UnixEpoch), CancellationToken.None);
        Assert.Equal(image.Id, (await h.Reuse.FindAsync(key, "ck", owner, CancellationToken.None))?.Id);
        Assert.Null(await h.Reuse.FindAsync(key, "ck", "bob", CancellationToken.None)); // the store says whose it is, too
    }
}
