using System.Text.RegularExpressions;

namespace Berth.Scanner.Secrets;

/// <summary>
/// The secret rules, in the order they are reported when two match the same text. Formats are the
/// issuers' published ones; each pattern bounds its token with look-arounds so that a token inside a
/// longer word does not match, and a rule's <c>Accept</c> turns away documentation placeholders.
/// Keywords are few and shared where rules allow (every distinct keyword slows the one search that
/// every file pays for; past about twenty it runs at half the speed).
/// </summary>
public static partial class SecretRules
{
    private const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;

    // A PEM block: optional RFC 1421 / armour headers, then a body of base64, whitespace and JSON
    // newline escapes. The body has no '-', so it stops at the first dash and the END line must follow.
    private const string PemHeaders = @"(?<headers>(?:(?:[ \t\r\n]|\\[rn])+[A-Za-z][A-Za-z0-9-]*:(?>[^\r\n\\]*)){0,16})(?:[ \t\r\n]|\\[rn])*";
    private const string PemBase64 = @"(?<secret>[A-Za-z0-9+/=][A-Za-z0-9+/= \t\r\n\\]{39,20000})";

    [GeneratedRegex("-----BEGIN (?<label>RSA) PRIVATE KEY-----" + PemHeaders + PemBase64 + "-----END RSA PRIVATE KEY-----", Options)]
    private static partial Regex RsaKey();

    [GeneratedRegex("-----BEGIN (?<label>EC) PRIVATE KEY-----" + PemHeaders + PemBase64 + "-----END EC PRIVATE KEY-----", Options)]
    private static partial Regex EcKey();

    [GeneratedRegex("-----BEGIN (?<label>DSA) PRIVATE KEY-----" + PemHeaders + PemBase64 + "-----END DSA PRIVATE KEY-----", Options)]
    private static partial Regex DsaKey();

    [GeneratedRegex("-----BEGIN (?<label>OPENSSH) PRIVATE KEY-----" + PemHeaders + PemBase64 + "-----END OPENSSH PRIVATE KEY-----", Options)]
    private static partial Regex OpenSshKey();

    [GeneratedRegex("-----BEGIN (?<label>)PRIVATE KEY-----" + PemHeaders + PemBase64 + "-----END PRIVATE KEY-----", Options)]
    private static partial Regex Pkcs8Key();

    [GeneratedRegex("-----BEGIN (?<label>ENCRYPTED|RSA|EC|DSA|OPENSSH) PRIVATE KEY-----" + PemHeaders + PemBase64 + @"-----END \k<label> PRIVATE KEY-----", Options)]
    private static partial Regex EncryptedKey();

    [GeneratedRegex("-----BEGIN (?<label>PGP) PRIVATE KEY BLOCK-----" + PemHeaders + PemBase64 + "-----END PGP PRIVATE KEY BLOCK-----", Options)]
    private static partial Regex PgpKey();

    // AWS key ids are a 4-letter kind then 16 base32 characters (A-Z, 2-7).
    [GeneratedRegex("(?<![A-Za-z0-9])(?<secret>(?:AKIA|ASIA)[A-Z2-7]{16})(?![A-Za-z0-9])", Options)]
    private static partial Regex AwsAccessKeyId();

    // Only in an assignment to a name that says what it is: 40 base64-ish characters alone are too common.
    [GeneratedRegex(@"(?i:secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key)[""']?(?:[ \t]*(?:=>|:=|[:=])[ \t]*|[ \t]+)[""']?(?<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", Options)]
    private static partial Regex AwsSecretAccessKey();

    [GeneratedRegex("(?<![A-Za-z0-9_])(?<secret>ghp_[A-Za-z0-9]{36})(?![A-Za-z0-9_])", Options)]
    private static partial Regex GitHubPat();

    [GeneratedRegex("(?<![A-Za-z0-9_])(?<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])", Options)]
    private static partial Regex GitHubFineGrainedPat();

    [GeneratedRegex("(?<![A-Za-z0-9_])(?<secret>gho_[A-Za-z0-9]{36})(?![A-Za-z0-9_])", Options)]
    private static partial Regex GitHubOAuth();

    [GeneratedRegex("(?<![A-Za-z0-9_])(?<secret>gh[us]_[A-Za-z0-9]{36})(?![A-Za-z0-9_])", Options)]
    private static partial Regex GitHubApp();

    [GeneratedRegex("(?<![A-Za-z0-9_])(?<secret>ghr_[A-Za-z0-9]{36,76})(?![A-Za-z0-9_])", Options)]
    private static partial Regex GitHubRefresh();

    [GeneratedRegex("(?<![A-Za-z0-9_-])(?<secret>glpat-[A-Za-z0-9_-]{20,80})(?![A-Za-z0-9_-])", Options)]
    private static partial Regex GitLabPat();

    // Bot, user, workspace, refresh and session tokens: xox?- then a numeric id, then more dash-separated parts.
    [GeneratedRegex("(?<![A-Za-z0-9-])(?<secret>xox[abprs]-[0-9]{1,16}-[0-9A-Za-z][0-9A-Za-z-]{14,250})(?![0-9A-Za-z-])", Options)]
    private static partial Regex SlackToken();

    [GeneratedRegex(@"https?://hooks\.slack\.com/services/(?<secret>T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32})(?![A-Za-z0-9])", Options)]
    private static partial Regex SlackWebhook();

    [GeneratedRegex("(?<![A-Za-z0-9_])(?<secret>sk_live_[A-Za-z0-9]{20,247})(?![A-Za-z0-9_])", Options)]
    private static partial Regex StripeSecret();

    [GeneratedRegex("(?<![A-Za-z0-9_])(?<secret>rk_live_[A-Za-z0-9]{20,247})(?![A-Za-z0-9_])", Options)]
    private static partial Regex StripeRestricted();

    [GeneratedRegex("(?<![A-Za-z0-9_-])(?<secret>AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])", Options)]
    private static partial Regex GoogleApiKey();

    [GeneratedRegex("(?<![A-Za-z0-9_])(?<secret>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])", Options)]
    private static partial Regex NpmToken();

    // A macaroon whose location field is pypi.org: base64 of its first bytes is fixed.
    [GeneratedRegex("(?<![A-Za-z0-9_-])(?<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000})(?![A-Za-z0-9_-])", Options)]
    private static partial Regex PyPIToken();

    [GeneratedRegex("(?<![A-Za-z0-9_])(?<secret>hf_[A-Za-z]{34})(?![A-Za-z0-9_])", Options)]
    private static partial Regex HuggingFaceToken();

    // Project, service-account and admin keys; and the older user keys, which carry T3BlbkFJ (base64 of "OpenAI").
    [GeneratedRegex("(?<![A-Za-z0-9_-])(?<secret>sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,300}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}))(?![A-Za-z0-9_-])", Options)]
    private static partial Regex OpenAIKey();

    [GeneratedRegex("(?<![A-Za-z0-9])(?<secret>SK[0-9a-f]{32})(?![A-Za-z0-9])", Options)]
    private static partial Regex TwilioApiKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])(?<secret>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])", Options)]
    private static partial Regex SendGridKey();

    [GeneratedRegex(@"""(?<field>auth|identitytoken)""[ \t]*:[ \t]*""(?<secret>[A-Za-z0-9+/=_.-]{8,4096})""", Options)]
    private static partial Regex DockerAuth();

    /// <summary>Every rule, in report order.</summary>
    public static IReadOnlyList<SecretRule> All { get; } =
    [
        Pem("private-key-rsa", "RSA private key", "high", RsaKey(), PemVerdict.Plain),
        Pem("private-key-ec", "EC private key", "high", EcKey(), PemVerdict.Plain),
        Pem("private-key-dsa", "DSA private key", "high", DsaKey(), PemVerdict.Plain),
        Pem("private-key-openssh", "OpenSSH private key", "high", OpenSshKey(), PemVerdict.Plain),
        Pem("private-key-pkcs8", "PKCS#8 private key", "high", Pkcs8Key(), PemVerdict.Plain),
        Pem("private-key-encrypted", "Passphrase-protected private key", "medium", EncryptedKey(), PemVerdict.Encrypted),
        new("private-key-pgp", "PGP private key block", "high", ["PRIVATE KEY"], PgpKey())
        {
            Accept = m => Classify(m) == PemVerdict.Plain,
        },
        Token("aws-access-key-id", "AWS access key ID", "high", ["AKIA", "ASIA"], AwsAccessKeyId(), prefix: 4),
        new("aws-secret-access-key", "AWS secret access key", "critical", ["secret"], AwsSecretAccessKey())
        {
            Accept = m => Random(m, 0) && Lookalike.HasMixedCase(Secret(m)),
        },
        Token("github-pat", "GitHub personal access token", "critical", ["ghp_"], GitHubPat(), prefix: 4),
        Token("github-fine-grained-pat", "GitHub fine-grained personal access token", "critical", ["github_pat_"], GitHubFineGrainedPat(), prefix: 11),
        Token("github-oauth-token", "GitHub OAuth access token", "critical", ["gho_"], GitHubOAuth(), prefix: 4),
        Token("github-app-token", "GitHub App user or installation token", "high", ["ghu_", "ghs_"], GitHubApp(), prefix: 4),
        Token("github-refresh-token", "GitHub refresh token", "high", ["ghr_"], GitHubRefresh(), prefix: 4),
        Token("gitlab-pat", "GitLab personal access token", "critical", ["glpat-"], GitLabPat(), prefix: 6),
        new("slack-token", "Slack token", "high", ["xox"], SlackToken())
        {
            Accept = m => !Lookalike.IsPlaceholder(LastPart(Secret(m), '-')),
        },
        new("slack-webhook-url", "Slack incoming webhook URL", "medium", ["hooks.slack.com"], SlackWebhook())
        {
            Accept = m => !Lookalike.IsPlaceholder(LastPart(Secret(m), '/')),
        },
        Token("stripe-secret-key", "Stripe live secret key", "critical", ["k_live_"], StripeSecret(), prefix: 8),
        Token("stripe-restricted-key", "Stripe live restricted key", "high", ["k_live_"], StripeRestricted(), prefix: 8),
        Token("google-api-key", "Google API key", "medium", ["AIza"], GoogleApiKey(), prefix: 4),
        Token("npm-access-token", "npm access token", "critical", ["npm_"], NpmToken(), prefix: 4),
        Token("pypi-upload-token", "PyPI upload token", "critical", ["pypi-AgEIcHlwaS5vcmc"], PyPIToken(), prefix: 20),
        new("huggingface-token", "Hugging Face access token", "high", ["hf_"], HuggingFaceToken())
        {
            Accept = m => Random(m, 3) && Lookalike.HasMixedCase(Secret(m).AsSpan(3)),
        },
        new("openai-api-key", "OpenAI API key", "high", ["sk-"], OpenAIKey())
        {
            Accept = m => Random(m, 3) && (Secret(m).Contains("T3BlbkFJ", StringComparison.Ordinal) || (Lookalike.HasMixedCase(Secret(m)) && Secret(m).AsSpan().ContainsAnyInRange('0', '9'))),
        },
        Token("twilio-api-key", "Twilio API key SID", "medium", ["SK"], TwilioApiKey(), prefix: 2),
        Token("sendgrid-api-key", "SendGrid API key", "high", ["SG."], SendGridKey(), prefix: 3),
        new("docker-registry-auth", "Container registry credentials", "high", ["\"auth\"", "\"identitytoken\""], DockerAuth())
        {
            AppliesTo = IsRegistryConfig,
            Accept = IsRegistryCredential,
        },
    ];

    private static SecretRule Pem(string id, string title, string severity, Regex pattern, PemVerdict wanted) =>
        new(id, title, severity, ["PRIVATE KEY"], pattern) { Accept = m => Classify(m) == wanted };

    /// <summary>A token with a fixed prefix whose remainder must look random.</summary>
    private static SecretRule Token(string id, string title, string severity, IReadOnlyList<string> keywords, Regex pattern, int prefix) =>
        new(id, title, severity, keywords, pattern) { Accept = m => Random(m, prefix) };

    private static PemVerdict Classify(Match m) =>
        PemBody.Classify(m.Groups["label"].Value, m.Groups["headers"].Value, m.Groups["secret"].Value);

    private static string Secret(Match m) => m.Groups["secret"].Value;

    private static bool Random(Match m, int prefix) => !Lookalike.IsPlaceholder(Secret(m).AsSpan(prefix));

    private static ReadOnlySpan<char> LastPart(string value, char separator) => value.AsSpan(value.LastIndexOf(separator) + 1);

    /// <summary>Docker's <c>config.json</c> (wherever DOCKER_CONFIG puts it), the legacy <c>.dockercfg</c>, and podman/skopeo's <c>auth.json</c>.</summary>
    private static bool IsRegistryConfig(string path)
    {
        var name = path[(path.LastIndexOf('/') + 1)..];
        return name is "config.json" or ".dockercfg" or "auth.json";
    }

    /// <summary><c>auth</c> is base64 of <c>user:password</c>, both non-empty; <c>identitytoken</c> is an opaque token.</summary>
    private static bool IsRegistryCredential(Match m)
    {
        var value = Secret(m);
        if (m.Groups["field"].Value == "identitytoken")
        {
            return value.Length >= 16 && !Lookalike.IsPlaceholder(value);
        }
        var bytes = new byte[value.Length];
        if (!Convert.TryFromBase64String(value, bytes, out var written))
        {
            return false;
        }
        var decoded = bytes.AsSpan(0, written);
        var colon = decoded.IndexOf((byte)':');
        return colon > 0 && colon < decoded.Length - 1 && !decoded.ContainsAnyInRange((byte)0, (byte)0x1F) && System.Text.Unicode.Utf8.IsValid(decoded);
    }
}
