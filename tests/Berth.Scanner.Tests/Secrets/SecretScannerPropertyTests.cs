using System.Text;
using Berth.Scanner.Secrets;

namespace Berth.Scanner.Tests.Secrets;

/// <summary>Property tests over generated files, each from a fixed seed.</summary>
public sealed class SecretScannerPropertyTests
{
    // Fragments of the formats, so random text often wakes the rules and runs their patterns.
    private static readonly string[] Fragments =
    [
        "-----BEGIN ", "PRIVATE KEY-----", "-----END ", "RSA ", "OPENSSH ", "PGP PRIVATE KEY BLOCK", "Proc-Type: 4,ENCRYPTED\n",
        "AKIA", "ASIA", "aws_secret_access_key = ", "ghp_", "github_pat_", "gho_", "ghs_", "ghr_", "glpat-", "xoxb-1-", "xoxp-",
        "https://hooks.slack.com/services/T", "sk_live_", "rk_live_", "AIza", "npm_", "pypi-AgEIcHlwaS5vcmc", "hf_", "sk-proj-",
        "T3BlbkFJ", "SK", "SG.", "\"auth\": \"", "\"identitytoken\": \"", "\\n", "\n", "\r\n", " ", "=", "/", "_", "-", "\"",
    ];

    [Fact]
    public void Scan_RandomText_NeverThrowsAndMatchesAreWellFormed()
    {
        var random = new Random(20261124);
        var fake = new FakeSecrets(1);
        for (var i = 0; i < 3000; i++)
        {
            var bytes = i % 3 == 0 ? fake.Bytes(random.Next(2000)) : Encoding.Latin1.GetBytes(RandomText(random, fake));
            var matches = SecretScanner.Scan("root/.docker/config.json", bytes);
            var lines = bytes.Count(b => b == (byte)'\n') + 1;
            Assert.True(matches.Count <= SecretScanner.MaxMatchesPerFile);
            Assert.All(matches, m =>
            {
                Assert.Contains(SecretRules.All, r => r.Id == m.RuleId && r.Title == m.Title && r.Severity == m.Severity);
                Assert.InRange(m.Line, 1, lines);
                Assert.EndsWith("*****", m.Masked, StringComparison.Ordinal);
                Assert.InRange(m.Masked.Length, 5, 9);
            });
            Assert.Equal(matches, SecretScanner.Scan("root/.docker/config.json", bytes, prefilter: false));
        }
    }

    [Fact]
    public void Scan_SecretsPlantedInNoise_AreFoundAtTheirLines()
    {
        var random = new Random(424242);
        var ids = FakeSecrets.RuleIds;
        for (var i = 0; i < 300; i++)
        {
            var fake = new FakeSecrets(i);
            var lines = new List<string>();
            var expected = new List<(string Rule, int Line, string Masked)>();
            var count = 1 + random.Next(5);
            for (var k = 0; k < count; k++)
            {
                for (var n = random.Next(4); n > 0; n--)
                {
                    lines.Add(Noise(random));
                }
                var planted = fake.For(ids[random.Next(ids.Count)]);
                expected.Add((planted.RuleId, lines.Count + planted.Line, planted.Secret[..4] + "*****"));
                lines.AddRange(planted.Text.TrimEnd('\n').Split('\n'));
            }
            lines.Add(Noise(random));
            var text = string.Join('\n', lines);
            var matches = SecretScanner.Scan("root/.docker/config.json", Encoding.UTF8.GetBytes(text));
            Assert.Equal(expected, matches.Select(m => (m.RuleId, m.Line, m.Masked)));
            Assert.Equal(matches, SecretScanner.Scan("root/.docker/config.json", Encoding.UTF8.GetBytes(text), prefilter: false));
        }
    }

    private static string RandomText(Random random, FakeSecrets fake)
    {
        var text = new StringBuilder();
        for (var n = random.Next(60); n > 0; n--)
        {
            text.Append(random.Next(3) switch
            {
                0 => Fragments[random.Next(Fragments.Length)],
                1 => fake.Chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-", 1 + random.Next(80)),
                _ => ((char)random.Next(256)).ToString(),
            });
        }
        return text.ToString();
    }

    /// <summary>A line of prose-like noise: words and punctuation, never a token of any format.</summary>
    private static string Noise(Random random)
    {
        string[] words = ["the", "key", "token", "secret", "auth", "build", "layer", "# comment", "x=1;", "{", "}", "AKIA", "sk", "hf", "-----"];
        return string.Join(' ', Enumerable.Range(0, random.Next(12)).Select(_ => words[random.Next(words.Length)]));
    }
}
