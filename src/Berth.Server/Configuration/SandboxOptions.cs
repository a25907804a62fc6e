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

    /// <summary>Cap of the engine's own json-file log for a job container, in MiB.</summary>
    [Range(1, 1024)] public int EngineLogMb { get; set; } = 8;
}
