namespace Berth.Server.Jobs;

/// <summary>Where a job is in its life. Serialized in lower case (<c>queued</c>, <c>running</c>, ...).</summary>
public enum JobStatus
{
    Queued,
    Linting,
    Building,
    Scanning,
    Running,
    Succeeded,
    Failed,
    Canceled,
}

public static class JobStatusExtensions
{
    public static bool IsTerminal(this JobStatus status) =>
        status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Canceled;

    public static bool IsActive(this JobStatus status) =>
        status is JobStatus.Linting or JobStatus.Building or JobStatus.Scanning or JobStatus.Running;

    public static string ToWire(this JobStatus status) => status.ToString().ToLowerInvariant();

    public static bool TryParseWire(string? value, out JobStatus status)
    {
        status = default;
        return value is not null
            && value.All(char.IsAsciiLetterLower)
            && Enum.TryParse(value, ignoreCase: true, out status);
    }
}
