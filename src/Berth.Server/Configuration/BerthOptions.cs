using System.ComponentModel.DataAnnotations;

namespace Berth.Server.Configuration;

/// <summary>Service-wide settings (section <c>Berth</c>).</summary>
public sealed class BerthOptions
{
    public const string Section = "Berth";

    /// <summary>Root folder for the SQLite database and the per-job directories.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DataRoot { get; set; } = "/var/lib/berth";

    /// <summary>How many jobs run at the same time. 0: API only, no job runs here (no worker, no recovery, no janitor).</summary>
    [Range(0, 64)]
    public int Workers { get; set; } = 2;

    /// <summary>How many jobs may wait in the queue before submissions get 503.</summary>
    [Range(1, 1_000_000)]
    public int QueueCap { get; set; } = 1000;

    /// <summary>Docker Engine API endpoint.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DockerEndpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>Cap of each stored log (build, run), in KiB.</summary>
    [Range(1, 1024 * 1024)]
    public int LogCapKb { get; set; } = 1024;

    /// <summary>How often the janitor removes what finished or vanished jobs left behind.</summary>
    [Range(5, 24 * 3600)]
    public int JanitorIntervalSeconds { get; set; } = 300;

    /// <summary>
    /// How many empty /data filesystems of <c>Limits:DataMb</c> are kept formatted ahead of time, so a job's /data is
    /// mounted, not made, when it starts. 0 makes each one when its job needs it.
    /// </summary>
    [Range(0, 16)]
    public int DataPoolSize { get; set; } = 2;

    public string DatabasePath => Path.Combine(DataRoot, "berth.db");

    public string JobsRoot => Path.Combine(DataRoot, "jobs");
}
