using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Scanner.Matching;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Reports;

/// <summary>A CycloneDX 1.5 JSON SBOM of the image: its packages (with purls and locations) and the advisories found.</summary>
public static class CycloneDx
{
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
            components.Add(new JsonObject
            {
                ["type"] = "library",
                ["bom-ref"] = Ref(package),
                ["name"] = package.Name,
                ["version"] = package.Version,
                ["purl"] = package.Purl,
                ["properties"] = new JsonArray
                {
                    new JsonObject { ["name"] = "berth:package:type", ["value"] = package.Type },
                    new JsonObject { ["name"] = "berth:location:path", ["value"] = package.Location.Path },
                    new JsonObject { ["name"] = "berth:location:layer", ["value"] = package.Location.Layer },
                },
            });
        }
        var vulnerabilities = new JsonArray();
        foreach (var group in findings.GroupBy(f => f.AdvisoryId))
        {
            var first = group.First();
            var vulnerability = new JsonObject
            {
                ["id"] = first.AdvisoryId,
                ["source"] = new JsonObject { ["name"] = "OSV", ["url"] = $"https://osv.dev/vulnerability/{first.AdvisoryId}" },
                ["ratings"] = new JsonArray
                {
                    first.CvssScore is { } score
                        ? new JsonObject { ["score"] = score, ["severity"] = first.Severity.ToString().ToLowerInvariant(), ["method"] = "CVSSv3" }
                        : new JsonObject { ["severity"] = first.Severity.ToString().ToLowerInvariant(), ["method"] = "other" },
                },
                ["affects"] = new JsonArray(group.Select(f => (JsonNode)new JsonObject { ["ref"] = Ref(f.Package) }).ToArray()),
            };
            if (first.Aliases.Count > 0)
            {
                vulnerability["references"] = new JsonArray(first.Aliases.Select(a => (JsonNode)new JsonObject
                {
                    ["id"] = a,
                    ["source"] = new JsonObject { ["name"] = a.StartsWith("CVE-", StringComparison.Ordinal) ? "NVD" : "OSV" },
                }).ToArray());
            }
            if (first.Summary is { } summary)
            {
                vulnerability["description"] = summary;
            }
            vulnerabilities.Add(vulnerability);
        }
        return new JsonObject
        {
            ["bomFormat"] = "CycloneDX",
            ["specVersion"] = "1.5",
            ["serialNumber"] = $"urn:uuid:{serial}",
            ["version"] = 1,
            ["metadata"] = new JsonObject
            {
                ["timestamp"] = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                ["tools"] = new JsonObject { ["components"] = new JsonArray { new JsonObject { ["type"] = "application", ["name"] = "berth" } } },
                ["component"] = new JsonObject { ["type"] = "container", ["bom-ref"] = "image", ["name"] = image },
            },
            ["components"] = components,
            ["vulnerabilities"] = vulnerabilities,
        };
    }

    public static string ToJson(JsonObject bom) => bom.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    private static string Ref(Package package) => $"{package.Purl}?file={Uri.EscapeDataString(package.Location.Path)}";
}
