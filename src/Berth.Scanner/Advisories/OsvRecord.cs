using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Scanner.Advisories;

/// <summary>The parts of an OSV record (https://ossf.github.io/osv-schema/) that matching needs.</summary>
public sealed record OsvRecord(
    string Id,
    IReadOnlyList<string>? Aliases,
    string? Summary,
    string? Details,
    IReadOnlyList<OsvSeverity>? Severity,
    IReadOnlyList<OsvAffected>? Affected,
    JsonElement? DatabaseSpecific,
    string? Modified);

public sealed record OsvAffected(
    OsvPackage? Package,
    IReadOnlyList<OsvRange>? Ranges,
    IReadOnlyList<string>? Versions,
    IReadOnlyList<OsvSeverity>? Severity,
    JsonElement? DatabaseSpecific,
    JsonElement? EcosystemSpecific);

public sealed record OsvPackage(string? Ecosystem, string? Name, string? Purl);

public sealed record OsvRange(string? Type, IReadOnlyList<OsvEvent>? Events);

public sealed record OsvEvent(string? Introduced, string? Fixed, [property: JsonPropertyName("last_affected")] string? LastAffected, string? Limit);

public sealed record OsvSeverity(string? Type, string? Score);

public static class OsvJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = false,
        MaxDepth = 64,
    };
}
