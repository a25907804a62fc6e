using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Scanner.Packages;
using Berth.Scanner.Reports;

namespace Berth.Scanner.Tests.Reports;

/// <summary>Reports name a package's type with the words they have always used.</summary>
public sealed class PackageTypeTests
{
    [Theory]
    [InlineData(PackageType.Deb, "deb")]
    [InlineData(PackageType.Apk, "apk")]
    [InlineData(PackageType.Python, "python")]
    [InlineData(PackageType.GoModule, "go-module")]
    [InlineData(PackageType.Npm, "npm")]
    public void ToWire_EachType_IsItsReportName(PackageType type, string wire) =>
        Assert.Equal(wire, type.ToWire());

    [Fact]
    public void Reports_NameThePackageTypesInLowerCaseWords()
    {
        string[] expected = ["deb", "npm", "python"];
        var report = SampleScan.Report;
        var sarif = JsonDocument.Parse(Sarif.ToJson(report)).RootElement.GetProperty("runs")[0].GetProperty("results")
            .EnumerateArray().Select(r => r.GetProperty("properties").GetProperty("packageType").GetString());
        var bom = CycloneDx.Create(SampleScan.Image, SampleScan.Result, SampleScan.Verdict.Findings, DateTimeOffset.UnixEpoch, Guid.Empty);
        var components = bom["components"]!.AsArray().SelectMany(c => c!["properties"]?.AsArray() ?? [])
            .Where(p => (string?)p!["name"] == "berth:package:type").Select(p => (string?)p!["value"]);

        Assert.Equal(expected, report.Details.Select(d => d.Type).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(expected, sarif.Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(expected, components.Distinct().Order(StringComparer.Ordinal));
    }
}
