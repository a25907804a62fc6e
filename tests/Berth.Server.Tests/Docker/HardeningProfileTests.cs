using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;

namespace Berth.Server.Tests.Docker;

public sealed class HardeningProfileTests
{
    private static readonly HardeningProfile Profile = new(new SandboxOptions(), new LimitsOptions(), new BuildOptions(), new EngineNames("1a2b3c4d"));

    [Theory]
    [InlineData(0L, 200_000_000)]
    [InlineData(1L, 200_000_001)]
    [InlineData(999_999L, 200_999_999)]
    [InlineData(1_000_000L, 200_000_000)] // the pool wraps only after UidPoolSize later jobs
    public void RunUid_IsTheJobsOwnUidFromThePool(long sequence, int expected) =>
        Assert.Equal(expected, Profile.RunUid(sequence));

    [Fact]
    public void ForRun_AppliesEveryControl()
    {
        var spec = Profile.ForRun("abc", Profile.RunUid(7), "sha256:img", new JobLimits(30, 128, 0.5), "/var/lib/berth/jobs/abc/data", []);
        var host = spec.HostConfig;

        Assert.Equal("200000007:200000007", spec.User);
        Assert.Equal("abc", spec.Labels[EngineNames.JobLabel]);
        Assert.Equal("1a2b3c4d", spec.Labels[EngineNames.InstanceLabel]);
        Assert.Equal("berth-1a2b3c4d-job-abc", spec.Name);
        Assert.True(spec.NetworkDisabled);
        Assert.Equal("none", host.NetworkMode);
        Assert.Equal(["ALL"], host.CapDrop);
        Assert.Empty(host.CapAdd);
        Assert.Equal(["no-new-privileges:true", "seccomp=" + JobSeccompProfile.Json], host.SecurityOpt); // nothing unconfined
        Assert.Equal(HardeningProfile.SeccompOption, host.SecurityOpt[1]);
        Assert.False(host.Privileged);
        Assert.True(host.ReadonlyRootfs);
        Assert.StartsWith("rw,nosuid,nodev,noexec,size=64m", host.Tmpfs["/tmp"], StringComparison.Ordinal);
        Assert.Equal("none", host.IpcMode);
        Assert.Equal(256, host.PidsLimit);
        Assert.Equal(128L * 1024 * 1024, host.Memory);
        Assert.Equal(host.Memory, host.MemorySwap);
        Assert.Equal(500_000_000, host.NanoCPUs);
        Assert.Contains(host.Ulimits, u => u.Name == "fsize" && u.Hard == 256L * 1024 * 1024);
        Assert.Contains(host.Ulimits, u => u.Name == "nofile" && u.Hard == 1024);
        Assert.True(host.Init);
        Assert.Equal("json-file", host.LogConfig.Type);
        Assert.Equal("8m", host.LogConfig.Config["max-size"]);
        var mount = Assert.Single(host.Mounts);
        Assert.Equal(("bind", "/var/lib/berth/jobs/abc/data", "/data", false), (mount.Type, mount.Source, mount.Target, mount.ReadOnly));
        Assert.Null(host.Binds);
    }

    [Fact]
    public void ForBuild_WithAContentKey_LabelsTheImageWithTheKeyOnly()
    {
        var build = Profile.ForBuild("abc", null, "0f" + new string('a', 62));

        using var labels = System.Text.Json.JsonDocument.Parse(build["labels"]!);
        var label = Assert.Single(labels.RootElement.EnumerateObject());
        Assert.Equal(EngineNames.ContentLabel, label.Name);
        Assert.Equal("0f" + new string('a', 62), label.Value.GetString()); // the same for identical submissions: the build cache still hits
    }

    [Fact]
    public void ForBuild_LimitsRunStepsAndNeverUsesHostNetwork()
    {
        var build = Profile.ForBuild("abc", "/berth-1a2b3c4d-build/abc");

        Assert.Equal("berth-1a2b3c4d/job-abc", build["t"]);
        Assert.Equal("none", build["networkmode"]);
        Assert.Equal("1", build["forcerm"]);
        Assert.Equal((2048L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), build["memory"]);
        Assert.Equal(build["memory"], build["memswap"]);
        Assert.Equal("200000", build["cpuquota"]);
        Assert.Equal("/berth-1a2b3c4d-build/abc", build["cgroupparent"]);
        Assert.Equal("1", build["version"]); // the classic builder: the only one that honours these limits
        using (var labels = System.Text.Json.JsonDocument.Parse(build["labels"]!))
        {
            // No key: the content label is set empty (never inherited from a base); a per-job label would defeat the build cache.
            Assert.Equal("", labels.RootElement.GetProperty(EngineNames.ContentLabel).GetString());
        }
        using var ulimits = System.Text.Json.JsonDocument.Parse(build["ulimits"]!);
        var fsize = ulimits.RootElement.EnumerateArray().Single(u => u.GetProperty("Name").GetString() == "fsize");
        Assert.Equal(1024L * 1024 * 1024, fsize.GetProperty("Hard").GetInt64()); // Build:FileSizeMb
        Assert.Equal(fsize.GetProperty("Hard").GetInt64(), fsize.GetProperty("Soft").GetInt64());
    }

    [Fact]
    public void ForRun_ImageHealthCheckIsOff_AndEveryImageVolumeIsACappedTmpfs()
    {
        var spec = Profile.ForRun("abc", Profile.RunUid(1), "sha256:img", new JobLimits(30, 128, 0.5), "/var/lib/berth/jobs/abc/data",
            ["/scratch", "/cache/", "/tmp", "/data", "/data/sub", "relative"]);

        Assert.Equal(["NONE"], spec.Healthcheck.Test);
        Assert.Equal(["/cache", "/scratch", "/tmp"], spec.HostConfig.Tmpfs.Keys.Order(StringComparer.Ordinal));
        Assert.All(spec.HostConfig.Tmpfs.Values, o => Assert.Equal("rw,nosuid,nodev,noexec,size=64m", o));
        Assert.Equal("/data", Assert.Single(spec.HostConfig.Mounts).Target); // /data stays the job's own filesystem
    }
}
