using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Berth.Scanner.Severity;

namespace Berth.Scanner.Reports;

/// <summary>
/// A SARIF 2.1.0 log of a <see cref="ScanReport"/>, in the subset GitHub code scanning accepts: one run whose
/// driver is Berth, one rule per advisory (tagged <c>security</c>, with <c>security-severity</c>), one result
/// per finding located at the package's metadata file inside the image (line 1), with a fingerprint that stays
/// the same across scans while the advisory, package and path do. Ignored findings are kept, suppressed
/// externally with the policy's reason.
/// </summary>
public static partial class Sarif
{
    /// <summary>The schema the log declares (OASIS SARIF 2.1.0).</summary>
    public const string SchemaUri = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

    /// <summary>The <c>partialFingerprints</c> key: a hash of advisory id, package name and path.</summary>
    public const string FingerprintKey = "berthAdvisoryPackagePath/v1";

    /// <summary>This library's version (its informational version), the default tool version.</summary>
    public static string ScannerVersion { get; } =
        typeof(Sarif).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(Sarif).Assembly.GetName().Version?.ToString(3)
        ?? "0.0.0";

    /// <summary>The SARIF log as indented JSON. <paramref name="toolVersion"/> defaults to <see cref="ScannerVersion"/>.</summary>
    public static string ToJson(ScanReport report, string? toolVersion = null) =>
        Create(report, toolVersion).ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>The SARIF log as a JSON tree.</summary>
    public static JsonObject Create(ScanReport report, string? toolVersion = null)
    {
        var version = string.IsNullOrWhiteSpace(toolVersion) ? ScannerVersion : toolVersion;
        var advisories = report.Details.GroupBy(f => f.AdvisoryId, StringComparer.Ordinal).ToList();
        var ruleIndex = advisories.Select((g, i) => (g.Key, i)).ToDictionary(x => x.Key, x => x.i, StringComparer.Ordinal);

        var driver = new JsonObject
        {
            ["name"] = "Berth",
            ["version"] = version,
        };
        if (SemVer().IsMatch(version))
        {
            driver["semanticVersion"] = version;
        }
        driver["rules"] = new JsonArray(advisories.Select(g => (JsonNode)Rule(g.ToList())).ToArray());

        // An incomplete scan is not a clean one: what could not be read is an error notification, and the run
        // says it did not fully succeed; secrets (masked) are error notifications too.
        var notifications = report.Incomplete.Select(p => ("error", $"incomplete: {p}"))
            .Concat((report.Secrets ?? []).Select(s => ("error", $"secret {s.RuleId} ({s.Severity}) at {s.Location.Path}:{s.Line}: {s.Masked}")))
            .Concat(report.Warnings.Select(w => ("warning", w)))
            .ToList();
        var invocation = new JsonObject { ["executionSuccessful"] = report.Incomplete.Count == 0 };
        if (notifications.Count > 0)
        {
            invocation["toolExecutionNotifications"] = new JsonArray(notifications.Select(n => (JsonNode)new JsonObject
            {
                ["level"] = n.Item1,
                ["message"] = new JsonObject { ["text"] = n.Item2 },
            }).ToArray());
        }

        return new JsonObject
        {
            ["$schema"] = SchemaUri,
            ["version"] = "2.1.0",
            ["runs"] = new JsonArray
            {
                new JsonObject
                {
                    ["tool"] = new JsonObject { ["driver"] = driver },
                    ["invocations"] = new JsonArray { invocation },
                    ["results"] = new JsonArray(report.Details.Select(f => (JsonNode)Result(f, ruleIndex[f.AdvisoryId])).ToArray()),
                    ["properties"] = new JsonObject
                    {
                        ["image"] = report.Image,
                        ["failed"] = report.Failed,
                        ["failOn"] = report.FailOn,
                    },
                },
            },
        };
    }

    /// <summary>The result level of a severity (<c>critical</c>, <c>high</c>, …, <c>unknown</c>).</summary>
    public static string Level(string severity) => Parse(severity) switch
    {
        SeverityLevel.Critical or SeverityLevel.High => "error",
        SeverityLevel.Medium or SeverityLevel.Unknown => "warning",
        _ => "note",
    };

    /// <summary>
    /// GitHub's <c>security-severity</c> (a number 0.0–10.0 as a string): the CVSS base score when known,
    /// else the middle of the level's CVSS band; null for unknown severity and for none without a score.
    /// </summary>
    public static string? SecuritySeverity(double? cvssScore, string severity) => cvssScore is { } score
        ? Cvss3.Format(score)
        : Parse(severity) switch
        {
            SeverityLevel.Critical => "9.5",
            SeverityLevel.High => "8.0",
            SeverityLevel.Medium => "5.5",
            SeverityLevel.Low => "2.0",
            _ => null,
        };

    /// <summary>The artifact URI of a path inside the image: relative (no leading slash), each segment percent-encoded.</summary>
    public static string ArtifactUri(string path) =>
        string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.EscapeDataString));

    /// <summary>The fingerprint of a finding: SHA-256 (hex) of advisory id, package name and path.</summary>
    public static string Fingerprint(string advisoryId, string package, string path) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{advisoryId}\n{package}\n{path}")));

    private static JsonObject Rule(List<ReportFinding> findings)
    {
        var first = findings[0];
        var worst = findings.MaxBy(f => Parse(f.Severity))!;
        var score = findings.Max(f => f.CvssScore);
        var title = first.Summary is { Length: > 0 } summary ? summary : $"{first.AdvisoryId} in {first.Package}";
        var aliases = first.Aliases.Count > 0 ? $" ({string.Join(", ", first.Aliases)})" : "";
        var properties = new JsonObject
        {
            ["tags"] = new JsonArray("security", "vulnerability"),
        };
        if (SecuritySeverity(score, worst.Severity) is { } securitySeverity)
        {
            properties["security-severity"] = securitySeverity;
        }
        var rule = new JsonObject
        {
            ["id"] = first.AdvisoryId,
            ["shortDescription"] = new JsonObject { ["text"] = title },
            ["fullDescription"] = new JsonObject { ["text"] = $"{first.AdvisoryId}{aliases}: {title}" },
            ["help"] = Help(first, findings, aliases, title),
            ["defaultConfiguration"] = new JsonObject { ["level"] = Level(worst.Severity) },
            ["properties"] = properties,
        };
        if (first.AdvisoryUrl is { } url)
        {
            rule["helpUri"] = url;
        }
        return rule;
    }

    private static JsonObject Help(ReportFinding first, List<ReportFinding> findings, string aliases, string title)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{first.AdvisoryId}{aliases}: {title}\n");
        var markdown = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"**{Md(first.AdvisoryId)}**{Md(aliases)}: {Md(title)}\n\n")
            .Append("| Package | Installed | Fixed version | Path |\n| --- | --- | --- | --- |\n");
        foreach (var f in findings)
        {
            var fix = f.FixedVersion is { } fixedVersion ? $"fixed in {fixedVersion}" : "no fixed version is known";
            text.Append(CultureInfo.InvariantCulture, $"- {f.Package} {f.InstalledVersion} ({f.Location.Path}): {fix}\n");
            markdown.Append(CultureInfo.InvariantCulture,
                $"| {Md(f.Package)} | {Md(f.InstalledVersion)} | {Md(f.FixedVersion ?? "none known")} | {Md(f.Location.Path)} |\n");
        }
        if (first.AdvisoryUrl is { } url)
        {
            text.Append(CultureInfo.InvariantCulture, $"Advisory: {url}\n");
            markdown.Append(CultureInfo.InvariantCulture, $"\nAdvisory: <{url}>\n");
        }
        return new JsonObject { ["text"] = text.ToString(), ["markdown"] = markdown.ToString() };
    }

    private static JsonObject Result(ReportFinding f, int ruleIndex)
    {
        var source = f.SourcePackage is { } sourcePackage ? $" (source package {sourcePackage})" : "";
        var fix = f.FixedVersion is { } fixedVersion
            ? $"fixed in {fixedVersion}"
            : "no fixed version is known";
        var properties = new JsonObject
        {
            ["package"] = f.Package,
            ["packageType"] = f.Type,
            ["installedVersion"] = f.InstalledVersion,
            ["severity"] = f.Severity,
            ["layer"] = f.Location.Layer,
        };
        if (f.FixedVersion is not null)
        {
            properties["fixedVersion"] = f.FixedVersion;
        }
        if (f.CvssScore is { } score)
        {
            properties["cvssScore"] = score;
        }
        var result = new JsonObject
        {
            ["ruleId"] = f.AdvisoryId,
            ["ruleIndex"] = ruleIndex,
            ["level"] = Level(f.Severity),
            ["message"] = new JsonObject
            {
                ["text"] = $"{f.Package} {f.InstalledVersion}{source} is affected by {f.AdvisoryId} ({f.Severity}): {fix}.",
            },
            ["locations"] = new JsonArray
            {
                new JsonObject
                {
                    ["physicalLocation"] = new JsonObject
                    {
                        ["artifactLocation"] = new JsonObject { ["uri"] = ArtifactUri(f.Location.Path) },
                        ["region"] = new JsonObject { ["startLine"] = 1 },
                    },
                },
            },
            ["partialFingerprints"] = new JsonObject { [FingerprintKey] = Fingerprint(f.AdvisoryId, f.Package, f.Location.Path) },
            ["properties"] = properties,
        };
        if (f.Ignored is { } reason)
        {
            result["suppressions"] = new JsonArray
            {
                new JsonObject { ["kind"] = "external", ["state"] = "accepted", ["justification"] = reason },
            };
        }
        return result;
    }

    private static SeverityLevel Parse(string severity) =>
        SeverityLevels.TryParse(severity, out var level) ? level : SeverityLevel.Unknown;

    /// <summary>Markdown-escapes text from advisories so it cannot add links, emphasis or table cells.</summary>
    private static string Md(string text) => MarkdownSpecial().Replace(text.ReplaceLineEndings(" "), @"\$0");

    [GeneratedRegex(@"[\\`*_{}\[\]()<>#+!|~]")]
    private static partial Regex MarkdownSpecial();

    /// <summary>Semantic Versioning 2.0.0 (the grammar from semver.org, written out).</summary>
    [GeneratedRegex(@"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-((0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")]
    private static partial Regex SemVer();
}
