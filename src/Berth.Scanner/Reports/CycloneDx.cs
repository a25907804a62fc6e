using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Scanner.Matching;
using Berth.Scanner.Packages;
using Berth.Scanner.Policy;
using Berth.Scanner.Severity;

namespace Berth.Scanner.Reports;

/// <summary>A CycloneDX 1.5 JSON SBOM of the image: its packages (with purls and locations) and the advisories found.</summary>
public static class CycloneDx
{
    /// <summary>
    /// The BOM. <paramref name="findings"/> are the verdict's findings (with <see cref="Finding.Ignored"/> set):
    /// one <c>vulnerabilities</c> entry per advisory id, its <c>affects</c> naming the components' bom-refs.
    /// </summary>
    public static JsonObject Create(string image, ScanResult result, IReadOnlyList<Finding> findings, DateTimeOffset now, Guid serial)
    {
        var components = new JsonArray();
        if (result.Distro is { } distro)
        {
            components.Add(new JsonObject
            {
                ["type"] = "operating-system",
                ["bom-ref"] = $"os:{distro.Id}@{distro.VersionId}",
                ["name"] = distro.Id,
                ["version"] = distro.VersionId,
            });
        }
        foreach (var package in result.Packages.DistinctBy(p => (p.Purl, p.Location.Path)))
        {
            var properties = new JsonArray
            {
                new JsonObject { ["name"] = "berth:package:type", ["value"] = package.Type.ToWire() },
                new JsonObject { ["name"] = "berth:location:path", ["value"] = package.Location.Path },
                new JsonObject { ["name"] = "berth:location:layer", ["value"] = package.Location.Layer },
            };
            if (package.Evidence == PackageEvidence.Lockfile)
            {
                properties.Add(new JsonObject { ["name"] = "berth:evidence", ["value"] = "lockfile" });
            }
            components.Add(new JsonObject
            {
                ["type"] = "library",
                ["bom-ref"] = Ref(package),
                ["name"] = package.Name,
                ["version"] = package.Version,
                ["purl"] = package.Purl,
                ["properties"] = properties,
            });
        }
        var vulnerabilities = new JsonArray(findings.GroupBy(f => f.AdvisoryId, StringComparer.Ordinal)
            .Select(g => (JsonNode)Vulnerability(g.ToList())).ToArray());
        return new JsonObject
        {
            ["bomFormat"] = "CycloneDX",
            ["specVersion"] = "1.5",
            ["serialNumber"] = $"urn:uuid:{serial}",
            ["version"] = 1,
            ["metadata"] = new JsonObject
            {
                ["timestamp"] = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                ["tools"] = new JsonObject { ["components"] = new JsonArray { new JsonObject { ["type"] = "application", ["name"] = "berth", ["version"] = Sarif.ScannerVersion } } },
                ["component"] = new JsonObject { ["type"] = "container", ["bom-ref"] = "image", ["name"] = image },
            },
            ["components"] = components,
            ["vulnerabilities"] = vulnerabilities,
        };
    }

    public static string ToJson(JsonObject bom) => bom.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>A component's bom-ref: its purl and where it was found, stable across scans of the same image.</summary>
    public static string Ref(Package package) => $"{package.Purl}?file={Uri.EscapeDataString(package.Location.Path)}";

    /// <summary>
    /// One advisory: worst rating, the record's advisory page (else its OSV page) as source, what to upgrade to, every
    /// affected component, and, when policy ignores every finding of it, an analysis. The state is <c>exploitable</c>
    /// (CycloneDX's "affected": the installed version is in an affected range, which is all Berth knows) with the response
    /// <c>will_not_fix</c> (an ignore rule: the risk is accepted) or <c>can_not_fix</c> (no fix is known), and the reason
    /// as detail. Berth never claims <c>not_affected</c> or <c>false_positive</c>: that needs a justification only a person has.
    /// </summary>
    private static JsonObject Vulnerability(List<Finding> findings)
    {
        var first = findings[0];
        var severity = findings.Max(f => f.Severity);
        var score = findings.Max(f => f.CvssScore);
        var rating = new JsonObject { ["severity"] = severity.ToWire() };
        if (score is { } s)
        {
            rating["score"] = s;
            rating["method"] = "CVSSv3";
        }
        var vulnerability = new JsonObject
        {
            ["bom-ref"] = $"vulnerability:{first.AdvisoryId}",
            ["id"] = first.AdvisoryId,
            ["source"] = new JsonObject
            {
                ["name"] = "OSV",
                ["url"] = first.AdvisoryUrl ?? $"https://osv.dev/vulnerability/{Uri.EscapeDataString(first.AdvisoryId)}",
            },
        };
        if (first.Aliases.Count > 0)
        {
            vulnerability["references"] = new JsonArray(first.Aliases.Select(a => (JsonNode)new JsonObject
            {
                ["id"] = a,
                ["source"] = new JsonObject { ["name"] = a.StartsWith("CVE-", StringComparison.Ordinal) ? "NVD" : "OSV" },
            }).ToArray());
        }
        vulnerability["ratings"] = new JsonArray { rating };
        if (first.Summary is { Length: > 0 } summary)
        {
            vulnerability["description"] = summary;
        }
        if (Recommendation(findings) is { } recommendation)
        {
            vulnerability["recommendation"] = recommendation;
        }
        if (findings.All(f => f.Ignored is not null))
        {
            var responses = findings.Select(f => f.Ignored == ScanPolicy.NoFixReason ? "can_not_fix" : "will_not_fix").Distinct().Order(StringComparer.Ordinal);
            vulnerability["analysis"] = new JsonObject
            {
                ["state"] = "exploitable",
                ["response"] = new JsonArray(responses.Select(r => (JsonNode)r).ToArray()),
                ["detail"] = string.Join("; ", findings.Select(f => f.Ignored!).Distinct(StringComparer.Ordinal)),
            };
        }
        vulnerability["affects"] = new JsonArray(findings.GroupBy(f => Ref(f.Package), StringComparer.Ordinal).Select(g => (JsonNode)new JsonObject
        {
            ["ref"] = g.Key,
            ["versions"] = new JsonArray(g.Select(f => f.Package.Version).Distinct(StringComparer.Ordinal)
                .Select(v => (JsonNode)new JsonObject { ["version"] = v, ["status"] = "affected" }).ToArray()),
        }).ToArray());
        var ignored = findings.Where(f => f.Ignored is not null).ToList();
        if (ignored.Count > 0)
        {
            vulnerability["properties"] = new JsonArray(ignored.Select(f => (JsonNode)new JsonObject
            {
                ["name"] = "berth:ignored",
                ["value"] = $"{Ref(f.Package)}: {f.Ignored}",
            }).ToArray());
        }
        return vulnerability;
    }

    /// <summary>"Upgrade to X" when every fixed finding names the same version; else one "Upgrade NAME to X" per package.</summary>
    private static string? Recommendation(List<Finding> findings)
    {
        var fixes = findings.Where(f => f.FixedVersion is not null)
            .Select(f => (f.MatchedName, Fixed: f.FixedVersion!)).Distinct().ToList();
        return fixes.Select(f => f.Fixed).Distinct(StringComparer.Ordinal).Count() switch
        {
            0 => null,
            1 => $"Upgrade to {fixes[0].Fixed}",
            _ => string.Join("; ", fixes.Select(f => $"Upgrade {f.MatchedName} to {f.Fixed}")),
        };
    }
}
