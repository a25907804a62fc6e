using Berth.Scanner.Secrets;

namespace Berth.Scanner.Tests.Secrets;

public sealed class SecretRulesTests
{
    public static TheoryData<string> RuleIds => [.. FakeSecrets.RuleIds];

    [Fact]
    public void All_Ids_AreUniqueLowerKebabCase()
    {
        var ids = SecretRules.All.Select(r => r.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.Matches("^[a-z0-9]+(-[a-z0-9]+)*$", id));
    }

    [Fact]
    public void All_Severities_AreKnown()
    {
        Assert.All(SecretRules.All, r => Assert.Contains(r.Severity, new[] { "critical", "high", "medium", "low" }));
    }

    [Fact]
    public void All_Patterns_CaptureTheSecret()
    {
        Assert.All(SecretRules.All, r => Assert.Contains("secret", r.Pattern.GetGroupNames()));
    }

    [Fact]
    public void Constructor_UnknownSeverity_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new SecretRule("x", "X", "severe", ["x"], new System.Text.RegularExpressions.Regex("x")));
        Assert.Contains("severe", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NoKeyword_Throws()
    {
        Assert.Throws<ArgumentException>(() => new SecretRule("x", "X", "low", [], new System.Text.RegularExpressions.Regex("x")));
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void Rule_HasLookalikeNegatives(string ruleId)
    {
        Assert.True(File.Exists(TestData.Path("secrets", "negatives", ruleId + ".txt")), $"no negatives for {ruleId}");
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void Keywords_OccurInEveryTruePositive(string ruleId)
    {
        // The prefilter skips a rule whose keywords are absent, so a match without one would be lost.
        var rule = SecretRules.All.Single(r => r.Id == ruleId);
        for (var seed = 0; seed < 20; seed++)
        {
            var planted = new FakeSecrets(seed).For(ruleId);
            var match = rule.Pattern.Match(planted.Text);
            Assert.True(match.Success, planted.Text);
            Assert.Contains(rule.Keywords, k => match.Value.Contains(k, k.Length >= SecretRule.MinCaseInsensitiveKeyword ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal));
        }
    }
}
