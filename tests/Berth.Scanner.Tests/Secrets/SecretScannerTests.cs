using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Berth.Scanner.Secrets;

namespace Berth.Scanner.Tests.Secrets;

public sealed class SecretScannerTests
{
    public static TheoryData<string> RuleIds => [.. FakeSecrets.RuleIds];

    public static TheoryData<string> NegativeFiles =>
        [.. Directory.GetFiles(TestData.Path("secrets", "negatives"), "*.txt").Select(Path.GetFileName).Order(StringComparer.Ordinal)];

    private static IReadOnlyList<SecretMatch> Scan(string path, string text) => SecretScanner.Scan(path, Encoding.UTF8.GetBytes(text));

    /// <summary>Every string a match carries, and its printed form: none may hold the raw secret.</summary>
    private static void AssertNoRawValue(IEnumerable<SecretMatch> matches, string secret)
    {
        foreach (var m in matches)
        {
            foreach (var s in new[] { m.RuleId, m.Title, m.Severity, m.Masked, m.ToString() })
            {
                Assert.DoesNotContain(secret, s, StringComparison.Ordinal);
                Assert.DoesNotContain(secret[..Math.Min(secret.Length, 5)], m.Masked, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void Scan_TruePositive_ReportsRuleLineAndMask(string ruleId)
    {
        for (var seed = 0; seed < 5; seed++)
        {
            var planted = new FakeSecrets(seed).For(ruleId);
            var matches = Scan(planted.Path, planted.Text);
            var rule = SecretRules.All.Single(r => r.Id == ruleId);
            var match = Assert.Single(matches);
            Assert.Equal(new SecretMatch(rule.Id, rule.Title, rule.Severity, planted.Line, planted.Secret[..4] + "*****"), match);
            AssertNoRawValue(matches, planted.Secret);
        }
    }

    [Theory]
    [MemberData(nameof(NegativeFiles))]
    public void Scan_LookalikeNegatives_ReportNothing(string file)
    {
        var text = File.ReadAllText(TestData.Path("secrets", "negatives", file)).Replace("{{}}", "", StringComparison.Ordinal);
        Assert.Empty(Scan("root/.docker/config.json", text));
        foreach (var line in text.Split('\n'))
        {
            Assert.Empty(Scan("root/.docker/config.json", line)); // each on its own, too: no neighbour can hide a match
        }
    }

    [Fact]
    public void Scan_AllTruePositivesInOneFile_ReportsEachInFileOrder()
    {
        var fake = new FakeSecrets(7);
        var text = new StringBuilder();
        var expected = new List<(string Rule, int Line)>();
        foreach (var id in FakeSecrets.RuleIds)
        {
            var planted = fake.For(id);
            var offset = text.ToString().Count(c => c == '\n');
            text.Append(planted.Text).Append('\n');
            expected.Add((id, offset + planted.Line));
        }
        var matches = SecretScanner.Scan("root/.docker/config.json", Encoding.UTF8.GetBytes(text.ToString()));
        Assert.Equal(expected.Take(SecretScanner.MaxMatchesPerFile), matches.Select(m => (m.RuleId, m.Line)));
    }

    [Fact]
    public void Scan_PublicKeysCertificatesAndRequests_ReportNothing()
    {
        var rsa = FakeSecrets.SharedRsa;
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=berth.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var text = string.Join('\n',
            rsa.ExportSubjectPublicKeyInfoPem(),
            rsa.ExportRSAPublicKeyPem(),
            ec.ExportSubjectPublicKeyInfoPem(),
            certificate.ExportCertificatePem(),
            request.CreateSigningRequestPem());
        Assert.Empty(Scan("etc/ssl/certs/bundle.pem", text));
    }

    [Fact]
    public void Scan_RealKeyBodyWithoutEndLine_ReportsNothing()
    {
        var pem = FakeSecrets.RsaPem();
        var cut = pem[..pem.IndexOf("-----END", StringComparison.Ordinal)];
        Assert.Empty(Scan("key.pem", cut));
        Assert.Empty(Scan("key.pem", cut + "-----END EC PRIVATE " + "KEY-----")); // the END must name the same kind
    }

    [Fact]
    public void Scan_KeyBodyWithALineDropped_ReportsNothing()
    {
        var lines = FakeSecrets.RsaPem().Split('\n').ToList();
        lines.RemoveAt(5);
        Assert.Empty(Scan("key.pem", string.Join('\n', lines)));
    }

    [Fact]
    public void Scan_ServiceAccountJsonWithEscapedNewlines_ReportsPkcs8Key()
    {
        var pem = FakeSecrets.Pkcs8Pem();
        var json = "{\n  \"type\": \"service_account\",\n  \"private_key\": \"" + pem.Replace("\n", "\\n", StringComparison.Ordinal) + "\\n\",\n  \"client_email\": \"a@b\"\n}\n";
        var match = Assert.Single(Scan("app/sa.json", json));
        Assert.Equal(("private-key-pkcs8", 3), (match.RuleId, match.Line));
    }

    [Fact]
    public void Scan_KeyOnOneLineWithSpaces_ReportsKey()
    {
        var pem = FakeSecrets.RsaPem().Replace('\n', ' ');
        var match = Assert.Single(Scan("app/env", "KEY=\"" + pem + "\"\n"));
        Assert.Equal("private-key-rsa", match.RuleId);
    }

    [Fact]
    public void Scan_CrLfKey_ReportsKey()
    {
        var match = Assert.Single(Scan("key.pem", FakeSecrets.EcPem().Replace("\n", "\r\n", StringComparison.Ordinal)));
        Assert.Equal("private-key-ec", match.RuleId);
    }

    [Fact]
    public void Scan_LegacyEncryptedPem_ReportsEncryptedKey()
    {
        var fake = new FakeSecrets(3);
        var body = Convert.ToBase64String(fake.Bytes(1200));
        var pem = "-----BEGIN RSA PRIVATE " + "KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC," + fake.Chars("0123456789ABCDEF", 32) + "\n\n"
            + string.Join('\n', body.Chunk(64).Select(c => new string(c))) + "\n-----END RSA PRIVATE " + "KEY-----\n";
        var match = Assert.Single(Scan("key.pem", pem));
        Assert.Equal(("private-key-encrypted", "medium", body[..4] + "*****"), (match.RuleId, match.Severity, match.Masked));
    }

    [Fact]
    public void Scan_OpenSshKeyWithCipher_ReportsEncryptedKey()
    {
        var match = Assert.Single(Scan("root/.ssh/id_ed25519", new FakeSecrets(4).OpenSshPem("aes256-ctr")));
        Assert.Equal("private-key-encrypted", match.RuleId);
    }

    [Fact]
    public void Scan_LegacyOpenAIKey_Reports()
    {
        var fake = new FakeSecrets(5);
        var key = "sk" + "-" + fake.Chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 20) + "T3Blbk" + "FJ" + fake.Chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 20);
        var match = Assert.Single(Scan("app/.env", "OPENAI_API_KEY=" + key));
        Assert.Equal(("openai-api-key", "sk-A"[..3]), (match.RuleId, match.Masked[..3]));
    }

    [Fact]
    public void Scan_StripeTestKey_ReportsNothing()
    {
        // Decided: test-mode keys reach only Stripe's sandbox, and they sit in every example and fixture.
        var key = "sk" + "_test_" + new FakeSecrets(6).Chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 99);
        Assert.Empty(Scan("app/.env", "STRIPE_KEY=" + key));
    }

    [Fact]
    public void Scan_DockerAuthOutsideARegistryConfig_ReportsNothing()
    {
        var planted = new FakeSecrets(8).For("docker-registry-auth");
        Assert.Single(Scan("kaniko/.docker/config.json", planted.Text));
        Assert.Single(Scan("/run/containers/0/auth.json", planted.Text));
        Assert.Empty(Scan("app/package.json", planted.Text));
    }

    [Fact]
    public void Scan_DockerIdentityToken_Reports()
    {
        var token = new FakeSecrets(9).Chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.", 120);
        var match = Assert.Single(Scan("root/.docker/config.json", "{\"auths\":{\"r.internal\":{\"identitytoken\":\"" + token + "\"}}}"));
        Assert.Equal(("docker-registry-auth", token[..4] + "*****"), (match.RuleId, match.Masked));
    }

    [Fact]
    public void Scan_LineNumbers_CountLfAndCrLf()
    {
        var fake = new FakeSecrets(10);
        var a = fake.For("github-pat").Secret;
        var b = fake.For("npm-access-token").Secret;
        var text = "one\r\ntwo\r\n" + a + "\r\n\r\n\nsix\n  " + b + " seven\n"; // lines 4 and 5 are empty
        Assert.Equal([("github-pat", 3), ("npm-access-token", 7)], Scan("f", text).Select(m => (m.RuleId, m.Line)));
    }

    [Fact]
    public void Scan_TwoSecretsOnOneLine_ReportsBoth()
    {
        var fake = new FakeSecrets(11);
        var id = fake.For("aws-access-key-id").Secret;
        var secret = fake.For("aws-secret-access-key").Secret;
        var matches = Scan("app/env", $"AWS_ACCESS_KEY_ID={id} AWS_SECRET_ACCESS_KEY={secret}");
        Assert.Equal([("aws-access-key-id", 1), ("aws-secret-access-key", 1)], matches.Select(m => (m.RuleId, m.Line)));
    }

    [Fact]
    public void Scan_ManySecrets_CappedInFileOrder()
    {
        var fake = new FakeSecrets(12);
        var lines = Enumerable.Range(0, 1000).Select(_ => "key = " + fake.For("aws-access-key-id").Secret).ToList();
        var matches = Scan("app/keys.txt", string.Join('\n', lines));
        Assert.Equal(SecretScanner.MaxMatchesPerFile, matches.Count);
        Assert.Equal(Enumerable.Range(1, SecretScanner.MaxMatchesPerFile), matches.Select(m => m.Line));
    }

    [Fact]
    public void Scan_ManySecretsOfManyRules_CappedOverall()
    {
        var fake = new FakeSecrets(13);
        var text = new StringBuilder();
        for (var i = 0; i < 100; i++)
        {
            foreach (var id in new[] { "github-pat", "slack-token", "npm-access-token" })
            {
                text.Append(fake.For(id).Secret).Append('\n');
            }
        }
        var matches = Scan("app/keys.txt", text.ToString());
        Assert.Equal(Enumerable.Range(1, SecretScanner.MaxMatchesPerFile), matches.Select(m => m.Line));
    }

    [Fact]
    public void Scan_EmptyFile_ReportsNothing()
    {
        Assert.Empty(SecretScanner.Scan("f", []));
    }

    [Fact]
    public void Scan_InvalidUtf8AroundASecret_StillReports()
    {
        var secret = new FakeSecrets(14).For("gitlab-pat").Secret;
        var bytes = new byte[] { 0xC3, 0x28, 0xFF, (byte)' ' }.Concat(Encoding.ASCII.GetBytes(secret)).Concat(new byte[] { (byte)' ', 0xE2, 0x82 }).ToArray();
        Assert.Equal("gitlab-pat", Assert.Single(SecretScanner.Scan("f", bytes)).RuleId);
    }

    public static TheoryData<string, string> HostileFiles => new()
    {
        { "begin headers", string.Concat(Enumerable.Repeat("-----BEGIN RSA PRIVATE " + "KEY-----\n", 34000)) },
        { "body without end", "-----BEGIN RSA PRIVATE " + "KEY-----\n" + string.Concat(Enumerable.Repeat("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n", 16000)) },
        { "begin and body", string.Concat(Enumerable.Repeat("-----BEGIN PRIVATE " + "KEY-----\nQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n", 14000)) },
        { "headers forever", "-----BEGIN RSA PRIVATE " + "KEY-----\n" + string.Concat(Enumerable.Repeat("Proc-Type: 4,ENCRYPTED\n", 45000)) },
        { "token prefixes", string.Concat(Enumerable.Repeat("ghp_AKIAxo" + "xb-1-sk-proj-SG.hf_glpat-", 30000)) },
        { "long token runs", "ghp_" + new string('a', 1_000_000) },
        { "assignment runs", string.Concat(Enumerable.Repeat("aws_secret_access_key = aws_secret_access_key = ", 21000)) },
        { "auth fields", string.Concat(Enumerable.Repeat("\"auth\": \"dXNlcjpwYXNz\", ", 40000)) },
    };

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void Scan_HostileFile_FinishesQuickly(string name, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        var clock = Stopwatch.StartNew();
        var matches = SecretScanner.Scan("root/.docker/config.json", bytes);
        clock.Stop();
        // Linear patterns take milliseconds here; a backtracking blow-up on a megabyte takes minutes.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{name}: {clock.Elapsed}");
        Assert.True(matches.Count <= SecretScanner.MaxMatchesPerFile, name);
    }

    [Theory]
    [InlineData("app/.env", 100, true)]
    [InlineData("/root/.aws/credentials", 1024 * 1024, true)]
    [InlineData("app/big.json", 1024 * 1024 + 1, false)]
    [InlineData("app/empty", 0, false)]
    [InlineData("usr/share/doc/openssl/README", 100, false)]
    [InlineData("/usr/share/man/man1/ssh.1", 100, false)]
    [InlineData("./usr/share/locale/de/LC_MESSAGES/x.mo", 100, false)]
    [InlineData("usr/lib/locale/C.utf8/LC_CTYPE", 100, false)]
    [InlineData("usr/share/common-licenses/GPL-3", 100, false)]
    [InlineData("usr/share/docs-of-my-app/key.pem", 100, true)]
    [InlineData("usr/local/share/doc/app/key.pem", 100, true)]
    public void Wants_PathAndSize_SkipsOnlyDocsLocalesAndLargeFiles(string path, long size, bool expected)
    {
        Assert.Equal(expected, SecretScanner.Wants(path, size));
    }

    [Fact]
    public void LooksBinary_NulInFirst8KiB_IsBinary()
    {
        var head = Encoding.ASCII.GetBytes(new string('a', 10000));
        Assert.False(SecretScanner.LooksBinary(head));
        Assert.False(SecretScanner.LooksBinary("héllo wörld ✓"u8));
        Assert.False(SecretScanner.LooksBinary([]));
        head[8191] = 0;
        Assert.True(SecretScanner.LooksBinary(head));
        head[8191] = (byte)'a';
        head[8192] = 0;
        Assert.False(SecretScanner.LooksBinary(head)); // past the probe
        Assert.True(SecretScanner.LooksBinary([0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0]));
    }

    [Theory]
    [InlineData("Qw3rTy9UiOp4AsDf7GhJ", "Qw3r*****")]
    [InlineData("abcdefghij", "ab*****")]
    [InlineData("abc", "*****")]
    public void Mask_KeepsAtMostFourLeadingCharacters(string secret, string expected)
    {
        Assert.Equal(expected, SecretScanner.Mask(secret));
    }
}
