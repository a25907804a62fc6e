using System.Text.Json;
using Berth.Scanner.Reports;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;

namespace Berth.Server.Tests.Jobs;

/// <summary>The enums of a job read and write the lower-case words clients and stored jobs have always had.</summary>
public sealed class JobJsonTests
{
    [Theory]
    [InlineData(ScanStatus.Passed, "passed")]
    [InlineData(ScanStatus.Failed, "failed")]
    [InlineData(ScanStatus.Incomplete, "incomplete")]
    [InlineData(ScanStatus.Skipped, "skipped")]
    public void ScanSummary_Status_IsTheLowerCaseWordBothWays(ScanStatus status, string wire)
    {
        var summary = new ScanSummary(status, 1, new SeverityCounts(0, 0, 0, 0, 0), null, []);

        var json = JsonSerializer.Serialize(summary, JobJson.Options);

        Assert.Equal(wire, JsonDocument.Parse(json).RootElement.GetProperty("status").GetString());
        Assert.Equal(status, JsonSerializer.Deserialize<ScanSummary>(json, JobJson.Options)!.Status);
    }

    [Theory]
    [InlineData(LintSeverity.Error, "error")]
    [InlineData(LintSeverity.Warning, "warning")]
    public void LintFinding_Severity_IsTheLowerCaseWordBothWays(LintSeverity severity, string wire)
    {
        var json = JsonSerializer.Serialize(new LintFinding("rule", 3, severity, "message"), JobJson.Options);

        Assert.Equal($$"""{"rule":"rule","line":3,"severity":"{{wire}}","message":"message"}""", json);
        Assert.Equal(severity, JsonSerializer.Deserialize<LintFinding>(json, JobJson.Options)!.Severity);
    }

    [Fact]
    public void Deserialize_ANumberForAnEnum_IsRefused() =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<LintFinding>("""{"rule":"r","line":1,"severity":0,"message":"m"}""", JobJson.Options));
}
