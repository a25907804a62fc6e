using Berth.Server.Docker;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Docker.DotNet.Models;

namespace Berth.Server.Tests.Pipeline;

/// <summary><see cref="JobResources"/>: releases are idempotent, safe to run at once, try every part, and prune only when alone.</summary>
public sealed class JobResourcesTests
{
    [Fact]
    public async Task ReleaseAsync_AllTwice_ReleasesEverythingAndReturnsTrueBothTimes()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await HoldingEverythingAsync(h);

        Assert.True(await h.Resources.ReleaseAsync(job.Id, JobParts.All, CancellationToken.None));
        Assert.True(await h.Resources.ReleaseAsync(job.Id, JobParts.All, CancellationToken.None));

        AssertAllGone(h, job);
        Assert.DoesNotContain(h.Log.Lines, l => l.Contains("clean-up failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReleaseAsync_ConcurrentCallsForOneJob_AllReturnTrueAndRemoveTheContainerOnce()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await HoldingEverythingAsync(h);

        var results = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(_ => Task.Run(() => h.Resources.ReleaseAsync(job.Id, JobParts.All, CancellationToken.None))));

        Assert.All(results, Assert.True);
        AssertAllGone(h, job);
        Assert.Single(h.Engine.Calls, c => c.StartsWith("RemoveContainerAsync ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReleaseAsync_EngineDown_KeepsDataAndDirectoryWhileAContainerMayStillUseThem_ThenReleasesAllOnceItIsBack()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await HoldingEverythingAsync(h);
        h.Engine.Down = true;

        Assert.False(await h.Resources.ReleaseAsync(job.Id, JobParts.All, CancellationToken.None));

        Assert.True(h.Volumes.Holds(h.PathsOf(job.Id))); // never unmounted or deleted under a container that may still run
        Assert.True(Directory.Exists(h.PathsOf(job.Id).Directory));
        Assert.Single(h.Engine.Containers);
        Assert.True(h.Engine.HasImage(h.Names.ImageTag(job.Id)));
        Assert.Equal(2, h.Log.Lines.Count(l => l.StartsWith($"Warning: Job {job.Id} clean-up failed", StringComparison.Ordinal))); // container, image

        h.Engine.Down = false;
        Assert.True(await h.Resources.ReleaseAsync(job.Id, JobParts.All, CancellationToken.None));
        Assert.False(h.Volumes.Holds(h.PathsOf(job.Id)));
        Assert.False(Directory.Exists(h.PathsOf(job.Id).Directory));
        Assert.Empty(h.Engine.Containers);
    }

    [Fact]
    public async Task ReleaseAsync_RunParts_KeepsContextImageAndDirectory()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await HoldingEverythingAsync(h);

        Assert.True(await h.Resources.ReleaseAsync(job.Id, JobParts.Run, CancellationToken.None));

        Assert.Empty(h.Engine.Containers);
        Assert.False(h.Volumes.Holds(h.PathsOf(job.Id)));
        Assert.True(File.Exists(h.PathsOf(job.Id).BuildContext));
        Assert.True(File.Exists(h.PathsOf(job.Id).Dockerfile));
        Assert.True(h.Engine.HasImage(h.Names.ImageTag(job.Id)));
    }

    [Fact]
    public async Task ReleaseAsync_ImageWhileAnotherJobIsActive_RemovesItWithoutPruningParents()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await HoldingEverythingAsync(h);
        using var self = h.Active.Register(job.Id);
        using var other = h.Active.Register("another-job");

        Assert.True(await h.Resources.ReleaseAsync(job.Id, JobParts.Image, CancellationToken.None));

        Assert.Contains($"RemoveImageAsync {h.Names.ImageTag(job.Id)} prune=False", h.Engine.Calls);
        Assert.False(h.Engine.HasImage(h.Names.ImageTag(job.Id)));
    }

    [Fact]
    public async Task ReleaseAsync_ImageOfTheOnlyActiveJob_PrunesParents()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await HoldingEverythingAsync(h);
        using var self = h.Active.Register(job.Id);

        Assert.True(await h.Resources.ReleaseAsync(job.Id, JobParts.Image, CancellationToken.None));

        Assert.Contains($"RemoveImageAsync {h.Names.ImageTag(job.Id)} prune=True", h.Engine.Calls);
    }

    [Fact]
    public async Task ReleaseAsync_ContainerOfAnotherInstanceForTheSameJobId_LeavesIt()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await h.SubmitAsync();
        var foreign = h.Engine.AddContainer(
            new Dictionary<string, string> { [EngineNames.JobLabel] = job.Id, [EngineNames.InstanceLabel] = "0123456789ab" }, $"berth-0123456789ab-job-{job.Id}");

        Assert.True(await h.Resources.ReleaseAsync(job.Id, JobParts.Container, CancellationToken.None));

        Assert.Equal(foreign, Assert.Single(h.Engine.Containers).Id);
    }

    [Fact]
    public async Task CreateContainerAsync_NameHeldByALeftover_RemovesItAndRecordsTheNewOne()
    {
        await using var h = await RunnerHarness.CreateAsync();
        var job = await h.SubmitAsync();
        var leftover = h.Engine.AddContainer(h.Names.ContainerLabels(job.Id), h.Names.ContainerName(job.Id));
        var spec = new CreateContainerParameters { Name = h.Names.ContainerName(job.Id), Image = "busybox:latest", Labels = h.Names.ContainerLabels(job.Id) };

        var id = await h.Resources.CreateContainerAsync(job.Id, spec, CancellationToken.None);

        Assert.NotEqual(leftover, id);
        Assert.Equal(id, Assert.Single(h.Engine.Containers).Id);
        Assert.Contains(id, h.RunscContainers.List());
    }

    /// <summary>A queued job holding a container, a /data, its context and directory, and an image tag.</summary>
    private static async Task<Job> HoldingEverythingAsync(RunnerHarness h)
    {
        var job = await h.SubmitAsync();
        await h.Volumes.PrepareAsync(h.PathsOf(job.Id), 4, 100_000, CancellationToken.None);
        h.Engine.AddContainer(h.Names.ContainerLabels(job.Id), h.Names.ContainerName(job.Id));
        h.Engine.AddImage(h.Names.ImageTag(job.Id));
        return job;
    }

    private static void AssertAllGone(RunnerHarness h, Job job)
    {
        Assert.Empty(h.Engine.Containers);
        Assert.False(h.Volumes.Holds(h.PathsOf(job.Id)));
        Assert.False(h.Engine.HasImage(h.Names.ImageTag(job.Id)));
        Assert.False(Directory.Exists(h.PathsOf(job.Id).Directory));
    }
}
