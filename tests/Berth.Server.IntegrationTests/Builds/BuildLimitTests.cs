using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Builds;

/// <summary>
/// A Berth with small build limits, two owners and operator-allowed test bases that carry an ONBUILD trigger, a
/// VOLUME and a HEALTHCHECK. Its build cache, disk and engine leftovers are its own.
/// </summary>
public sealed class BuildLimitServer : IAsyncLifetime
{
    private static readonly string Suffix = Guid.NewGuid().ToString("N")[..8];
    public static readonly string OnbuildImage = $"it-onbuild-{Suffix}:latest";
    public static readonly string VolumeImage = $"it-volume-{Suffix}:latest";
    public static readonly string HealthImage = $"it-health-{Suffix}:latest";

    public Tripwire Tripwire { get; } = new();

    public Dictionary<string, string> Settings { get; private set; } = null!;

    public BerthProcess Server { get; private set; } = null!;

    public Infrastructure.Docker Docker { get; } = new();

    public HttpClient Alice { get; private set; } = null!;

    public HttpClient Bob { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Docker.BuildImageAsync(OnbuildImage, $"FROM busybox:latest\nONBUILD ADD http://{Tripwire.Address}/x /x\n");
        await Docker.BuildImageAsync(VolumeImage, "FROM busybox:latest\nVOLUME /scratch\n");
        await Docker.BuildImageAsync(HealthImage, "FROM busybox:latest\nHEALTHCHECK --interval=1s CMD touch /probed /tmp/probed\n");
        Settings = new Dictionary<string, string>(BerthFixture.Settings)
        {
            ["Build:AllowedImages:0"] = "busybox:latest",
            ["Build:AllowedImages:1"] = OnbuildImage,
            ["Build:AllowedImages:2"] = VolumeImage,
            ["Build:AllowedImages:3"] = HealthImage,
            ["Build:AllowedImages:4"] = "debian:bookworm-slim",
            ["Build:MaxImageMb"] = "64",
            ["Build:FileSizeMb"] = "32",
            ["Build:MaxOutputMb"] = "1",
            ["Build:ImageRetentionSeconds"] = "600", // the build cache and another owner's image stay around
            ["Auth:Keys:0:Owner"] = "alice", ["Auth:Keys:0:Role"] = "user", ["Auth:Keys:0:Sha256"] = Hash("alice-key"),
            ["Auth:Keys:1:Owner"] = "bob", ["Auth:Keys:1:Role"] = "user", ["Auth:Keys:1:Sha256"] = Hash("bob-key"),
        };
        Server = await BerthProcess.StartAsync(TempRoot.Create("build-limits"), Settings);
        Alice = As("alice-key");
        Bob = As("bob-key");
    }

    private HttpClient As(string key)
    {
        var client = new HttpClient { BaseAddress = Server.Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key))).ToLowerInvariant();

    public async Task DisposeAsync()
    {
        Alice.Dispose();
        Bob.Dispose();
        await Server.DisposeAsync();
        await Docker.RemoveInstanceImagesAsync(Infrastructure.Docker.InstanceOf(Server.DataRoot)); // what retention kept
        foreach (var image in new[] { OnbuildImage, VolumeImage, HealthImage })
        {
            await Docker.RemoveImageAsync(image);
        }
        Tripwire.Dispose();
        Docker.Dispose();
    }
}

[Collection(BerthCollection.Name)]
public sealed class BuildLimitTests(BuildLimitServer server) : IClassFixture<BuildLimitServer>
{
    private BerthApi Api => new(server.Alice);

    private static string Scored(string instructions, string script = "echo '{\"perf\": 1}' > /data/perf.json") => Busybox(script, instructions);

    private static long EngineDiskFree() => new DriveInfo("/var/lib/docker").AvailableFreeSpace;

    [Fact]
    public async Task Build_WritingManyFilesPastTheImageCap_IsStoppedAndTheDiskComesBack()
    {
        // Its own server, with no image retention: the failed build's layers go at the janitor's next sweep.
        await using var berth = await BerthProcess.StartAsync(TempRoot.Create("build-disk"),
            new Dictionary<string, string>(server.Settings) { ["Build:ImageRetentionSeconds"] = "0" });
        using var alice = new HttpClient { BaseAddress = berth.Client.BaseAddress };
        alice.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "alice-key");
        var before = EngineDiskFree();

        var job = await new BerthApi(alice).RunAsync(Scored("RUN echo layer > /l\nRUN i=0; while :; do head -c 16m /dev/zero > /f$i || exit 1; i=$((i+1)); done\n"));

        Assert.Equal(FailureReasons.BuildLimitExceeded, job.Failure?.Reason);
        Assert.Contains("Build:MaxImageMb", job.Failure!.Message, StringComparison.Ordinal);
        var instance = Infrastructure.Docker.InstanceOf(berth.DataRoot);
        await WaitForAsync(async () => (await server.Docker.InstanceImagesAsync(instance)).Count == 0, "the failed build's layers were not removed");
        Assert.True(before - EngineDiskFree() < 64L * 1024 * 1024, $"the engine's disk lost {(before - EngineDiskFree()) >> 20} MiB");
    }

    [Fact]
    public async Task Build_CanceledAfterManyMetadataSteps_LeavesNoUntaggedLayers()
    {
        var steps = string.Concat(Enumerable.Range(0, 250).Select(i => $"ENV A{i}={Guid.NewGuid():N}\n"));
        var accepted = await Api.SubmitAsync(Scored(steps + "RUN sleep 120\n"));
        await Api.WaitAsync(accepted.Id, j => j.Status == JobStatus.Building);
        var instance = Infrastructure.Docker.InstanceOf(server.Server.DataRoot);
        await WaitForAsync(async () => (await server.Docker.InstanceImagesAsync(instance)).Count > 20, "the build committed no layers");

        using (var cancel = await server.Alice.PostAsync(new Uri($"/api/v1/jobs/{accepted.Id}/cancel", UriKind.Relative), null))
        {
            await AcceptedAsync(cancel);
        }
        var job = await Api.WaitTerminalAsync(accepted.Id, 60);

        Assert.Equal(JobStatus.Canceled, job.Status);
        Assert.Empty(await server.Docker.DanglingInstanceLayersAsync(instance)); // removed when the job ended, not later
    }

    [Theory]
    [InlineData("RUN truncate -s 50G /f")]
    [InlineData("RUN head -c 100m /dev/zero > /f")]
    public async Task Build_OneHugeFile_IsRefusedByTheFileSizeLimit(string step)
    {
        var job = await Api.RunAsync(Scored(step + "\n"));

        Assert.Equal(FailureReasons.BuildFailed, job.Failure?.Reason);
        var log = await Api.LogsAsync(job.Id);
        Assert.True(new[] { "File too large", "File size limit exceeded", "I/O error" }.Any(e => log.Contains(e, StringComparison.OrdinalIgnoreCase)), log); // EFBIG or SIGXFSZ
    }

    [Fact]
    public async Task Build_SymlinksToTheHostRootAndToItself_AreNeverFollowedByTheDiskWatch()
    {
        // The watch walks the running step's writable layer on the host: a link to / would walk the host, a loop forever.
        var job = await Api.WaitTerminalAsync((await Api.SubmitAsync(Scored("RUN ln -s / /host && ln -s . /loop && sleep 3\n"))).Id, 60);

        Assert.True(job.Status == JobStatus.Succeeded, $"{job.Status}: {job.Failure?.Message}");
    }

    [Fact]
    public async Task Build_FloodingOutput_IsStoppedByTheOutputCap()
    {
        var job = await Api.RunAsync(Scored("RUN yes\n"));

        Assert.Equal(FailureReasons.BuildLimitExceeded, job.Failure?.Reason);
        Assert.Contains("Build:MaxOutputMb", job.Failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BaseImageOnbuildTrigger_IsRefusedBeforeTheBuild()
    {
        var job = await Api.RunAsync($"FROM {BuildLimitServer.OnbuildImage}\nCMD [\"true\"]\n");

        Assert.Equal(FailureReasons.LintRejected, job.Failure?.Reason);
        Assert.Contains("ONBUILD", job.Failure!.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.Tripwire.Contacts);
    }

    [Fact]
    public async Task BaseImageWithAVolume_IsRefused_BuildStepsCannotWriteToAHostVolume()
    {
        var volumes = await server.Docker.VolumeCountAsync();
        var job = await Api.RunAsync($"FROM {BuildLimitServer.VolumeImage}\nRUN head -c 100m /dev/zero > /scratch/big\nCMD [\"true\"]\n");

        Assert.Equal(FailureReasons.LintRejected, job.Failure?.Reason);
        Assert.Contains("declares VOLUME /scratch", job.Failure!.Message, StringComparison.Ordinal);
        Assert.Equal(volumes, await server.Docker.VolumeCountAsync());
    }

    [Fact]
    public async Task VolumeInstruction_IsLintRejected()
    {
        var job = await Api.RunAsync(Scored("VOLUME /scratch\n"));

        Assert.Equal(FailureReasons.LintRejected, job.Failure?.Reason);
    }

    [Fact]
    public async Task BaseImageHealthcheck_NeverRuns_InBuildOrJob()
    {
        var job = await Api.RunAsync($"FROM {BuildLimitServer.HealthImage}\nRUN sleep 3 && test ! -e /probed\n" +
            "CMD [\"sh\", \"-c\", \"sleep 3; test ! -e /tmp/probed && echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n");

        Assert.True(job.Status == JobStatus.Succeeded, $"{job.Status}: {job.Failure?.Message}");
    }

    [Fact]
    public async Task OneOwnerExhaustingAPerUserKernelLimit_DoesNotTouchAnotherOwnersJob()
    {
        // inotify instances are limited per host uid (fs.inotify.max_user_instances, 128 here); perl-base in
        // debian:bookworm-slim can call inotify_init (253 on x86_64) directly.
        const string hog = "$| = 1; my $n = 0; for (1..1000) { $n++ if syscall(253) >= 0 } print \"held $n\\n\"; sleep 60";
        var hogJob = await Api.SubmitAsync($"FROM debian:bookworm-slim\nCMD [\"perl\", \"-e\", {System.Text.Json.JsonSerializer.Serialize(hog)}]\n",
            new { timeoutSeconds = 90 });
        await WaitForAsync(async () => RunLog(await Api.LogsAsync(hogJob.Id)).Contains("held ", StringComparison.Ordinal), "the hog never reported");
        Assert.Matches(@"held (1[0-9]{2}|[2-9][0-9]{2})\b", RunLog(await Api.LogsAsync(hogJob.Id))); // it holds (at least) the whole per-user limit

        const string probe = "open(my $f, '>', '/data/perf.json'); print $f (syscall(253) >= 0 ? '{\"perf\": 1}' : '{\"perf\": 0}')";
        var other = await new BerthApi(server.Bob).RunAsync($"FROM debian:bookworm-slim\nCMD [\"perl\", \"-e\", {System.Text.Json.JsonSerializer.Serialize(probe)}]\n");

        Assert.Equal((JobStatus.Succeeded, 1d), (other.Status, other.Performance));
        using var cancel = await server.Alice.PostAsync(new Uri($"/api/v1/jobs/{hogJob.Id}/cancel", UriKind.Relative), null);
        Assert.Equal(JobStatus.Canceled, (await Api.WaitTerminalAsync(hogJob.Id, 60)).Status);
    }

    [Fact]
    public async Task BuildCache_IsPerOwner()
    {
        var step = $"RUN echo {Guid.NewGuid():N} > /step";
        var dockerfile = Scored(step + "\n");
        var first = await Api.RunAsync(dockerfile);
        var again = await Api.RunAsync(dockerfile, cache: false); // builds, on the engine's build cache
        var reused = await Api.RunAsync(dockerfile); // does not build at all
        var bob = await new BerthApi(server.Bob).RunAsync(dockerfile);

        Assert.All([first, again, reused, bob], j => Assert.Equal(JobStatus.Succeeded, j.Status));
        Assert.False(StepUsedCache(await Api.LogsAsync(first.Id), step));
        Assert.True(StepUsedCache(await Api.LogsAsync(again.Id), step)); // the owner's own cache works
        Assert.True(reused.CacheHit); // and so does reusing the owner's own image
        Assert.False(bob.CacheHit); // another owner's image is never reused
        Assert.False(StepUsedCache(await new BerthApi(server.Bob).LogsAsync(bob.Id), step)); // nor its build cache
    }

    private static string RunLog(string logs) =>
        logs.IndexOf("==> run log <==", StringComparison.Ordinal) is var at and >= 0 ? logs[at..] : "";

    /// <summary>Whether the build log shows the engine reusing a cached layer for <paramref name="step"/>.</summary>
    private static bool StepUsedCache(string log, string step)
    {
        var start = log.IndexOf(step, StringComparison.Ordinal);
        Assert.True(start >= 0, $"step '{step}' is not in the build log");
        var end = log.IndexOf("Step ", start, StringComparison.Ordinal);
        return log[start..(end < 0 ? log.Length : end)].Contains("Using cache", StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherJobsImage_ByTagOrIdPrefix_IsNeverABase()
    {
        var victim = await Api.RunAsync(Busybox("echo '{\"perf\": 1}' > /data/perf.json", "RUN echo model-weights > /secret\n"));
        Assert.Equal(JobStatus.Succeeded, victim.Status);
        var tag = (await server.Docker.AllJobImagesAsync()).Single(t => t.Contains($"/job-{victim.Id}:", StringComparison.Ordinal)); // retained
        var id = (await server.Docker.InspectImageAsync(tag)).ID["sha256:".Length..];

        foreach (var reference in new[] { tag, id[..4], id[..12], $"sha256:{id}", tag.Split(':')[0] })
        {
            foreach (var dockerfile in new[] { $"FROM {reference}\nCMD cat /secret\n", $"FROM busybox:latest\nCOPY --from={reference} /secret /s\n" })
            {
                var job = await Api.RunAsync(dockerfile);
                Assert.Equal(FailureReasons.LintRejected, job.Failure?.Reason);
                Assert.DoesNotContain("model-weights", await Api.LogsAsync(job.Id), StringComparison.Ordinal);
            }
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string failure)
    {
        for (var i = 0; i < 150; i++)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(200);
        }
        Assert.Fail(failure);
    }
}
