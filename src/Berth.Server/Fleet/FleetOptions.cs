using System.ComponentModel.DataAnnotations;

namespace Berth.Server.Fleet;

/// <summary>The lease protocol between API servers and agents (section <c>Fleet</c>); used with <c>Store:Provider=postgres</c>.</summary>
public sealed class FleetOptions
{
    public const string Section = "Fleet";

    /// <summary>How long a claim or heartbeat holds a job. Agents beat every third of it.</summary>
    [Range(3, 3600)]
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>Attempts a job gets before a lost lease fails it as <c>worker_lost</c>.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 2;

    /// <summary>After the database (re)starts, no lease expires for this long: agents get the time to reconnect.</summary>
    [Range(0, 3600)]
    public int ReconnectGraceSeconds { get; set; } = 60;

    /// <summary>How often each API server looks for expired leases.</summary>
    [Range(1, 600)]
    public int ExpiryIntervalSeconds { get; set; } = 5;

    /// <summary>The longest an agent's claim request waits for work.</summary>
    [Range(1, 30)]
    public int MaxClaimWaitSeconds { get; set; } = 30;
}
