using Berth.Scanner.Matching;
using Berth.Scanner.Packages;
using Berth.Scanner.Policy;
using Berth.Scanner.Severity;

namespace Berth.Scanner.Tests.Policy;

public sealed class ScanPolicyTests
{
    private static readonly DateOnly Today = new(2026, 11, 23);

    private static Finding F(string id, SeverityLevel severity, string? fix, params string[] aliases) =>
        new(id, aliases, null, new Package("p", "1", PackageType.Python, "PyPI", "p", "1", new FileLocation("l", "/p")), "p", "1", fix, severity, null);

    [Fact]
    public void Default_HighWithFix_Fails_MediumDoesNot()
    {
        Assert.True(ScanPolicy.Default.Evaluate([F("A", SeverityLevel.High, "2")], Today).Failed);
        Assert.True(ScanPolicy.Default.Evaluate([F("A", SeverityLevel.Critical, "2")], Today).Failed);
        Assert.False(ScanPolicy.Default.Evaluate([F("A", SeverityLevel.Medium, "2")], Today).Failed);
    }

    [Fact]
    public void IgnoreUnfixed_HighWithoutFix_DoesNotFailButIsReported()
    {
        var verdict = ScanPolicy.Default.Evaluate([F("A", SeverityLevel.Critical, null)], Today);
        Assert.False(verdict.Failed);
        Assert.Equal("no fix available", Assert.Single(verdict.Findings).Ignored);
        Assert.True((ScanPolicy.Default with { IgnoreUnfixed = false }).Evaluate([F("A", SeverityLevel.Critical, null)], Today).Failed);
    }

    [Fact]
    public void UnknownSeverity_FailsOnlyWhenFixableAndEnabled()
    {
        Assert.True(ScanPolicy.Default.Evaluate([F("A", SeverityLevel.Unknown, "2")], Today).Failed);
        Assert.False(ScanPolicy.Default.Evaluate([F("A", SeverityLevel.Unknown, null)], Today).Failed);
        Assert.False((ScanPolicy.Default with { UnknownSeverityFails = false }).Evaluate([F("A", SeverityLevel.Unknown, "2")], Today).Failed);
    }

    [Fact]
    public void IgnoreRule_MatchesIdOrAlias_UntilItExpires()
    {
        var policy = ScanPolicy.Default with
        {
            Ignore = [new IgnoreRule("CVE-1", "not reachable", new DateOnly(2026, 12, 31)), new IgnoreRule("B", "old", new DateOnly(2026, 1, 1))],
        };
        var verdict = policy.Evaluate([F("A", SeverityLevel.High, "2", "CVE-1"), F("B", SeverityLevel.High, "2")], Today);

        Assert.Equal("ignored by policy: not reachable", verdict.Findings[0].Ignored);
        Assert.Null(verdict.Findings[1].Ignored); // expired
        Assert.True(verdict.Failed);
        Assert.Equal("B", Assert.Single(verdict.Failing).AdvisoryId);
    }

    [Fact]
    public void FailOnMedium_And_FailOnNever()
    {
        Assert.True((ScanPolicy.Default with { FailOn = SeverityLevel.Medium }).Evaluate([F("A", SeverityLevel.Medium, "2")], Today).Failed);
        Assert.False((ScanPolicy.Default with { FailOn = null, UnknownSeverityFails = false }).Evaluate([F("A", SeverityLevel.Critical, "2")], Today).Failed);
    }
}
