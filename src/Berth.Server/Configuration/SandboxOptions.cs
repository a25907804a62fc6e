using System.ComponentModel.DataAnnotations;

namespace Berth.Server.Configuration;

/// <summary>Run-time sandbox settings (section <c>Sandbox</c>).</summary>
public sealed class SandboxOptions : IValidatableObject
{
    public const string Section = "Sandbox";

    /// <summary>
    /// First host uid (and gid) of the jobs' pool. Each job runs as its own uid,
    /// <c>UidPoolStart + sequence mod UidPoolSize</c>, whatever USER its Dockerfile says, so per-user kernel limits
    /// (inotify instances, message queues, RLIMIT_NPROC) are never shared between jobs or with host users.
    /// Give each Berth on one machine its own range.
    /// </summary>
    [Range(1000, int.MaxValue)] public int UidPoolStart { get; set; } = 200_000_000;

    /// <summary>How many uids the pool holds; a uid comes back only after this many later jobs.</summary>
    [Range(1024, 100_000_000)] public int UidPoolSize { get; set; } = 1_000_000;

    /// <summary>OCI runtime of job containers: <c>runc</c> (default) or <c>runsc</c> (gVisor, registered in the daemon).</summary>
    [AllowedValues("runc", "runsc")]
    public string Runtime { get; set; } = "runc";

    /// <summary>gVisor's own sandbox processes need about 42 pids: below this limit runsc jobs cannot start.</summary>
    public const int MinRunscPidsLimit = 128;

    /// <summary>Cap of the engine's own json-file log for a job container, in MiB.</summary>
    [Range(1, 1024)] public int EngineLogMb { get; set; } = 8;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if ((long)UidPoolStart + UidPoolSize > int.MaxValue)
        {
            yield return new ValidationResult("Sandbox:UidPoolStart + Sandbox:UidPoolSize must stay below 2^31.", [nameof(UidPoolSize)]);
        }
    }
}
