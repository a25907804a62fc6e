using System.ComponentModel.DataAnnotations;

namespace Berth.Server.Configuration;

/// <summary>Run-time sandbox settings (section <c>Sandbox</c>).</summary>
public sealed class SandboxOptions
{
    public const string Section = "Sandbox";

    /// <summary>Uid every job runs as, whatever USER its Dockerfile says. Never 0.</summary>
    [Range(1, int.MaxValue)] public int Uid { get; set; } = 65534;

    /// <summary>Gid every job runs as. Never 0.</summary>
    [Range(1, int.MaxValue)] public int Gid { get; set; } = 65534;

    /// <summary>OCI runtime of job containers: <c>runc</c> (default) or <c>runsc</c> (gVisor, registered in the daemon).</summary>
    [AllowedValues("runc", "runsc")]
    public string Runtime { get; set; } = "runc";

    /// <summary>gVisor's own sandbox processes need about 42 pids: below this limit runsc jobs cannot start.</summary>
    public const int MinRunscPidsLimit = 128;

    /// <summary>Cap of the engine's own json-file log for a job container, in MiB.</summary>
    [Range(1, 1024)] public int EngineLogMb { get; set; } = 8;
}
