using System.Globalization;
using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Docker.DotNet.Models;
using Berth.Scanner;

namespace Berth.Server.Docker;

/// <summary>
/// The one place that decides how untrusted code runs: the job container's spec and the build's
/// parameters. Nothing else in Berth sets a security-relevant engine option.
/// </summary>
public sealed class HardeningProfile(SandboxOptions sandbox, LimitsOptions limits, BuildOptions build, EngineNames names)
{
    public const string DataMountPath = "/data";

    public string Runtime => sandbox.Runtime;

    /// <summary>The job's own host uid and gid (never 0, never another running job's): see <see cref="SandboxOptions.UidPoolStart"/>.</summary>
    public int RunUid(long sequence) => sandbox.UidPoolStart + (int)(Math.Abs(sequence) % sandbox.UidPoolSize);

    /// <summary>
    /// <c>seccomp=&lt;json&gt;</c>: the job profile inline (<see cref="JobSeccompProfile"/>). runsc, started without
    /// <c>--oci-seccomp</c>, does not apply it: there the job's syscalls reach gVisor's kernel, not the host's.
    /// </summary>
    public static string SeccompOption { get; } = "seccomp=" + JobSeccompProfile.Json;

    /// <summary>
    /// The container spec of a job run. Each of the image's <c>VOLUME</c>s (<paramref name="imageVolumes"/>) gets a
    /// tmpfs capped like <c>/tmp</c> (charged to the job's memory), so no volume is ever a writable host directory.
    /// </summary>
    public CreateContainerParameters ForRun(string jobId, int uid, string image, JobLimits jobLimits, string hostDataDirectory, IEnumerable<string> imageVolumes)
    {
        var memory = Units.Mebibytes(jobLimits.MemoryMb);
        var fileSize = Units.Mebibytes(limits.FileSizeMb);
        var tmpfs = string.Create(CultureInfo.InvariantCulture, $"rw,nosuid,nodev,noexec,size={limits.TmpMb}m");
        var mounts = new Dictionary<string, string> { ["/tmp"] = tmpfs };
        foreach (var volume in imageVolumes.Select(v => v.TrimEnd('/')).Where(v => v.StartsWith('/') && v != DataMountPath && !v.StartsWith(DataMountPath + "/", StringComparison.Ordinal)))
        {
            mounts.TryAdd(volume, tmpfs);
        }
        return new CreateContainerParameters
        {
            Name = names.ContainerName(jobId),
            Image = image,
            User = string.Create(CultureInfo.InvariantCulture, $"{uid}:{uid}"),
            Labels = names.ContainerLabels(jobId),
            NetworkDisabled = true,
            AttachStdout = false,
            AttachStderr = false,
            Tty = false,
            Healthcheck = new() { Test = ["NONE"] }, // dockerd would run the image's probe outside the job's limits
            HostConfig = new HostConfig
            {
                Runtime = sandbox.Runtime,
                NetworkMode = "none",
                CapDrop = ["ALL"],
                CapAdd = [],
                SecurityOpt = ["no-new-privileges:true", SeccompOption],
                Privileged = false,
                ReadonlyRootfs = true,
                Tmpfs = mounts,
                IpcMode = "none",
                PidsLimit = limits.PidsLimit,
                Memory = memory,
                MemorySwap = memory,
                MemorySwappiness = 0,
                NanoCPUs = (long)Math.Round(jobLimits.Cpus * 1_000_000_000d),
                Ulimits =
                [
                    new Ulimit { Name = "fsize", Soft = fileSize, Hard = fileSize },
                    new Ulimit { Name = "nofile", Soft = limits.OpenFiles, Hard = limits.OpenFiles },
                    new Ulimit { Name = "core", Soft = 0, Hard = 0 },
                ],
                Init = true,
                LogConfig = new LogConfig
                {
                    Type = "json-file",
                    Config = new Dictionary<string, string>
                    {
                        ["max-size"] = string.Create(CultureInfo.InvariantCulture, $"{sandbox.EngineLogMb}m"),
                        ["max-file"] = "1",
                    },
                },
                Mounts =
                [
                    new Mount
                    {
                        Type = "bind",
                        Source = hostDataDirectory,
                        Target = DataMountPath,
                        ReadOnly = false,
                        BindOptions = new BindOptions { Propagation = "rprivate" },
                    },
                ],
                RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.No },
                AutoRemove = false,
            },
        };
    }

    /// <summary>The build's query parameters (<c>POST /build</c>): RUN steps are untrusted code too.</summary>
    /// <param name="contentKey">Labels the built image (<see cref="EngineNames.ContentLabel"/>) so an identical submission can reuse it; empty when none.</param>
    public IReadOnlyDictionary<string, string?> ForBuild(string jobId, string? cgroupParent, string? contentKey = null)
    {
        var memory = Units.Mebibytes(build.MemoryMb);
        return new Dictionary<string, string?>
        {
            ["t"] = names.ImageTag(jobId),
            ["dockerfile"] = "Dockerfile",
            ["rm"] = "1",
            ["forcerm"] = "1",
            ["networkmode"] = build.Network,
            ["memory"] = EngineBuildClient.Number(memory),
            ["memswap"] = EngineBuildClient.Number(memory),
            ["cpuperiod"] = "100000",
            ["cpuquota"] = EngineBuildClient.Number((long)Math.Round(build.Cpus * 100_000)),
            ["cgroupparent"] = cgroupParent,
            ["ulimits"] = BuildUlimits(),
            // Always set: an image built without a key must not inherit a base image's.
            ["labels"] = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { [EngineNames.ContentLabel] = contentKey ?? "" }),
            ["version"] = "1",
        };
    }

    /// <summary>Per-file size (<c>Build:FileSizeMb</c>), open files and no core dumps for every RUN step.</summary>
    private string BuildUlimits()
    {
        var fileSize = Units.Mebibytes(build.FileSizeMb);
        return System.Text.Json.JsonSerializer.Serialize(new[]
        {
            new Ulimit { Name = "fsize", Soft = fileSize, Hard = fileSize },
            new Ulimit { Name = "nofile", Soft = limits.OpenFiles, Hard = limits.OpenFiles },
            new Ulimit { Name = "core", Soft = 0, Hard = 0 },
        }.Select(u => new { u.Name, u.Hard, u.Soft }));
    }
}
