using System.ComponentModel.DataAnnotations;
using Berth.Server.Configuration;
using Microsoft.Extensions.Configuration;

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
    public void Berth_ZeroWorkers_IsValid() =>
        Assert.Empty(Validate(new BerthOptions { Workers = 0 }));

    [Theory]
    [InlineData(-1)]
    [InlineData(65)]
    public void Berth_WorkersOutOfRange_IsRejected(int workers) =>
        Assert.NotEmpty(Validate(new BerthOptions { Workers = workers }));

    [Theory]
    [InlineData("https://berth.example.com", true)]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("https://berth.example.com/", false)]
    [InlineData("https://berth.example.com/dashboard", false)]
    [InlineData("berth.example.com", false)]
    [InlineData("ftp://berth.example.com", false)]
    [InlineData("https://user@berth.example.com", false)]
    public void Auth_PublicOrigin_MustBeAnOrigin(string origin, bool valid) =>
        Assert.Equal(valid, Validate(new AuthOptions { PublicOrigin = origin }).Count == 0);

    private static AuthOptions BindKeyWithRole(string role) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Auth:Keys:0:Owner"] = "ops",
            ["Auth:Keys:0:Role"] = role,
            ["Auth:Keys:0:Sha256"] = new string('a', 64),
        }).Build().GetSection(AuthOptions.Section).Get<AuthOptions>()!;

    [Theory]
    [InlineData("user", KeyRole.User)]
    [InlineData("admin", KeyRole.Admin)]
    public void Auth_RoleByName_BindsToItsAccess(string text, KeyRole expected)
    {
        var options = BindKeyWithRole(text);
        Assert.Equal(expected, options.Keys.Single().Access);
        Assert.Empty(Validate(options));
    }

    /// <summary>Exactly as before roles were an enum: a number, a list or another letter case is refused at start-up, never read as admin.</summary>
    [Theory]
    [InlineData("1")]
    [InlineData("user,admin")]
    [InlineData("Admin")]
    [InlineData("root")]
    [InlineData("")]
    public void Auth_RoleThatIsNotALowerCaseName_IsRejectedAndGivesUserAccess(string text)
    {
        var options = BindKeyWithRole(text);
        Assert.Contains(Validate(options), r => r.ErrorMessage == "Auth:Keys:0:Role must be 'user' or 'admin'.");
        Assert.Equal(KeyRole.User, options.Keys.Single().Access);
    }
}
