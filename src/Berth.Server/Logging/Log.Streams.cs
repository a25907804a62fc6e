using Microsoft.Extensions.Logging;

namespace Berth.Server.Logging;

/// <summary>The lines about live streams (log follow, events) (event ids 340-349).</summary>
internal static partial class Log
{
    [LoggerMessage(340, LogLevel.Warning, "Stream {Stream} of job {JobId} failed; its connection is closed")]
    public static partial void StreamFailed(ILogger logger, string stream, string jobId, Exception exception);
}
