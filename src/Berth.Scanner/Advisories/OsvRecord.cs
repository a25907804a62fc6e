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
    string? Modified,
    IReadOnlyList<OsvReference>? References = null)
{
    /// <summary>The record's first <c>ADVISORY</c> reference that is an absolute http(s) URL (normalised, escaped), else null.</summary>
    public string? AdvisoryUrl => References?
        .Select(r => r.Type == "ADVISORY" && Uri.TryCreate(r.Url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" ? uri.AbsoluteUri : null)
        .FirstOrDefault(url => url is not null);
}

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

/// <summary>A link of a record: <see cref="Type"/> is <c>ADVISORY</c>, <c>WEB</c>, <c>FIX</c>, <c>REPORT</c>, ….</summary>
public sealed record OsvReference(string? Type, string? Url);

public static class OsvJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = false,
        MaxDepth = 64,
    };
}
