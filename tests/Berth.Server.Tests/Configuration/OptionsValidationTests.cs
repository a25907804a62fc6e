using System.ComponentModel.DataAnnotations;
using Berth.Server.Configuration;

namespace Berth.Server.Tests.Configuration;

public sealed class OptionsValidationTests
{
    private static List<ValidationResult> Validate(object options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }

    [Fact]
    public void Defaults_AreValid()
    {
        Assert.Empty(Validate(new BerthOptions()));
        Assert.Empty(Validate(new LimitsOptions()));
        Assert.Empty(Validate(new BuildOptions()));
        Assert.Empty(Validate(new SandboxOptions()));
        Assert.Empty(Validate(new ScanOptions()));
    }

    [Fact]
    public void Scan_UnknownFailOn_IsRejected() =>
        Assert.NotEmpty(Validate(new ScanOptions { FailOn = "severe" }));

    [Fact]
    public void Scan_IgnoreWithoutReason_IsRejected()
    {
        var options = new ScanOptions { Ignore = [new ScanOptions.IgnoreEntry { Id = "CVE-1" }] };
        Assert.Contains(Validate(options), r => r.ErrorMessage == "Scan:Ignore:0 needs both an Id and a Reason.");
    }

    [Fact]
    public void Scan_Policy_MapsTheSettings()
    {
        var policy = new ScanOptions { FailOn = "none", IgnoreUnfixed = false }.Policy();
        Assert.Null(policy.FailOn);
        Assert.False(policy.IgnoreUnfixed);
        Assert.Equal(Berth.Scanner.Severity.SeverityLevel.Medium, new ScanOptions { FailOn = "medium" }.Policy().FailOn);
    }

    [Fact]
    public void Limits_DefaultAboveMaximum_IsRejected()
    {
        var results = Validate(new LimitsOptions { DefaultMemoryMb = 8192, MaxMemoryMb = 4096 });
        Assert.Contains(results, r => r.ErrorMessage!.Contains("DefaultMemoryMb must not exceed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("host")]
    [InlineData("container:x")]
    public void Build_HostNetwork_IsRejected(string network) =>
        Assert.NotEmpty(Validate(new BuildOptions { Network = network }));

    [Theory]
    [InlineData(0, 1024)]
    [InlineData(999, 1024)]
    [InlineData(int.MaxValue - 1000, 1024)]
    [InlineData(200_000_000, 10)]
    public void Sandbox_UidPoolWithRootSystemUidsOrOverflow_IsRejected(int start, int size) =>
        Assert.NotEmpty(Validate(new SandboxOptions { UidPoolStart = start, UidPoolSize = size }));

    [Fact]
    public void Berth_ZeroWorkers_IsRejected() =>
        Assert.NotEmpty(Validate(new BerthOptions { Workers = 0 }));
}
