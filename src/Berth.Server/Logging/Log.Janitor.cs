using Microsoft.Extensions.Logging;

namespace Berth.Server.Logging;

/// <summary>The lines about a node's job resources: the janitor, spare /data filesystems (event ids 100-109).</summary>
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Warning, "Janitor: sweeping {Part} failed; it is tried again at the next sweep")]
    public static partial void JanitorPartFailed(ILogger logger, string part, Exception exception);

    [LoggerMessage(101, LogLevel.Information, "Janitor: killed gVisor process {Pid} of container {ContainerId}, which the engine no longer has")]
    public static partial void RunscProcessKilled(ILogger logger, int pid, string containerId);

    [LoggerMessage(102, LogLevel.Warning, "Spare /data filesystems could not be made; each job makes its own until this works again")]
    public static partial void DataPoolFillFailed(ILogger logger, Exception exception);

    [LoggerMessage(103, LogLevel.Information, "Janitor: removed build layer {LayerId}, left untagged by a failed, canceled or interrupted build")]
    public static partial void BuildLayerRemoved(ILogger logger, string layerId);
}
