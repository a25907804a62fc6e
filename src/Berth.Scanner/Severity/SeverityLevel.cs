namespace Berth.Scanner.Severity;

/// <summary>Qualitative severity, ordered. <see cref="Unknown"/> when a record gives none.</summary>
public enum SeverityLevel
{
    Unknown,
    None,
    Low,
    Medium,
    High,
    Critical,
}

public static class SeverityLevels
{
    /// <summary>CVSS v3 qualitative rating of a base score.</summary>
    public static SeverityLevel FromScore(double score) => score switch
    {
        0 => SeverityLevel.None,
        < 4.0 => SeverityLevel.Low,
        < 7.0 => SeverityLevel.Medium,
        < 9.0 => SeverityLevel.High,
        _ => SeverityLevel.Critical,
    };

    /// <summary>A textual rating (<c>database_specific.severity</c>); GHSA's MODERATE is MEDIUM.</summary>
    public static SeverityLevel? FromText(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        "CRITICAL" => SeverityLevel.Critical,
        "HIGH" or "IMPORTANT" => SeverityLevel.High,
        "MEDIUM" or "MODERATE" => SeverityLevel.Medium,
        "LOW" or "NEGLIGIBLE" or "UNIMPORTANT" => SeverityLevel.Low,
        "NONE" => SeverityLevel.None,
        _ => null,
    };

    public static string ToWire(this SeverityLevel level) => level.ToString().ToLowerInvariant();

    public static bool TryParse(string? text, out SeverityLevel level)
    {
        level = default;
        return text is not null && Enum.TryParse(text, ignoreCase: true, out level) && Enum.IsDefined(level);
    }
}
