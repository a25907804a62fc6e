using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Berth.Scanner.Secrets;

namespace Berth.Scanner.Tests.Secrets;

/// <summary>
/// A secret planted in a file: the rule that should find it, the file, the value (whose first four
/// characters make the mask) and the 1-based line it starts on.
/// </summary>
public sealed record Planted(string RuleId, string Path, string Text, string Secret, int Line)
{
    public override string ToString() => $"{RuleId} in {Path}";
}

/// <summary>
/// Builds format-valid but fake secrets at run time, from a seed. Prefixes are assembled from parts
/// so that this source file holds no complete token for a secret scanner to trip on.
/// </summary>
public sealed class FakeSecrets(int seed)
{
    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string Lower = "abcdefghijklmnopqrstuvwxyz";
    private const string Digits = "0123456789";
    private const string Alnum = Upper + Lower + Digits;
    private const string UrlSafe = Alnum + "_-";
    private const string Base32 = Upper + "234567";
    private const string Hex = "0123456789abcdef";

    private readonly Random _random = new(seed);

    /// <summary>One true positive per rule id, in <see cref="SecretRules.All"/> order.</summary>
    public static IReadOnlyList<string> RuleIds => [.. SecretRules.All.Select(r => r.Id)];

    public Planted For(string ruleId) => ruleId switch
    {
        "private-key-rsa" => Pem(ruleId, "etc/ssl/private/server.key", "# server key\n", RsaPem()),
        "private-key-ec" => Pem(ruleId, "app/keys/signing.pem", "", EcPem()),
        "private-key-dsa" => Pem(ruleId, "root/old.pem", "legacy:\n\n", PemEncoding.WriteString("DSA " + "PRIVATE KEY", DsaDer())),
        "private-key-openssh" => Pem(ruleId, "root/.ssh/id_ed25519", "", OpenSshPem("none")),
        "private-key-pkcs8" => Pem(ruleId, "srv/tls/key.pem", "\n", Pkcs8Pem()),
        "private-key-encrypted" => Pem(ruleId, "srv/tls/key.enc.pem", "# pass in vault\n", EncryptedPkcs8Pem()),
        "private-key-pgp" => Pem(ruleId, "root/signing.asc", "", PgpArmor()),
        "aws-access-key-id" => Line(ruleId, "root/.aws/credentials", "[default]\naws_access_key_id = {0}\n", "AK" + "IA" + Chars(Base32, 16)),
        "aws-secret-access-key" => Line(ruleId, "root/.aws/credentials", "[default]\nregion = eu-west-1\naws_secret_access_key = {0}\n", MixedCase(Alnum + "+/", 40)),
        "github-pat" => Line(ruleId, "app/.env", "GITHUB_TOKEN={0}\n", "gh" + "p_" + Chars(Alnum, 36)),
        "github-fine-grained-pat" => Line(ruleId, "app/.env", "# ci\nGH_TOKEN=\"{0}\"\n", "github" + "_pat_" + Chars(Alnum, 22) + "_" + Chars(Alnum, 59)),
        "github-oauth-token" => Line(ruleId, "root/.config/gh/hosts.yml", "github.com:\n    oauth_token: {0}\n", "gh" + "o_" + Chars(Alnum, 36)),
        "github-app-token" => Line(ruleId, "app/run.sh", "#!/bin/sh\ncurl -H 'Authorization: token {0}' \"$URL\"\n", "gh" + "s_" + Chars(Alnum, 36)),
        "github-refresh-token" => Line(ruleId, "app/tokens.json", "{{\"refresh\": \"{0}\"}}\n", "gh" + "r_" + Chars(Alnum, 76)),
        "gitlab-pat" => Line(ruleId, "app/.gitlab-token", "{0}\n", "gl" + "pat-" + Chars(UrlSafe, 20)),
        "slack-token" => Line(ruleId, "app/settings.py", "DEBUG = False\nSLACK_BOT_TOKEN = '{0}'\n", "xo" + "xb-" + Chars(Digits, 12) + "-" + Chars(Digits, 13) + "-" + Chars(Alnum, 24)),
        "slack-webhook-url" => Line(ruleId, "app/alerts.yaml", "alerts:\n  url: https://hooks.slack.com/services/{0}\n", "T" + Chars(Upper + Digits, 8) + "/B" + Chars(Upper + Digits, 10) + "/" + Chars(Alnum, 24)),
        "stripe-secret-key" => Line(ruleId, "app/config/stripe.js", "module.exports = {{ key: \"{0}\" }};\n", "sk" + "_live_" + Chars(Alnum, 99)),
        "stripe-restricted-key" => Line(ruleId, "app/.env", "STRIPE_KEY={0}\n", "rk" + "_live_" + Chars(Alnum, 24)),
        "google-api-key" => Line(ruleId, "app/maps.html", "<script src=\"/maps/api/js?key={0}\"></script>\n", "AI" + "za" + Chars(UrlSafe, 35)),
        "npm-access-token" => Line(ruleId, "root/.npmrc", "//npm.corp.internal/:_authToken={0}\n", "np" + "m_" + Chars(Alnum, 36)),
        "pypi-upload-token" => Line(ruleId, "root/.pypirc", "[pypi]\nusername = __token__\npassword = {0}\n", "py" + "pi-AgEIcHlwaS5vcmc" + Chars(UrlSafe, 140)),
        "huggingface-token" => Line(ruleId, "app/.env", "HF_TOKEN={0}\n", "hf" + "_" + MixedCase(Upper + Lower, 34)),
        "openai-api-key" => Line(ruleId, "app/.env", "OPENAI_API_KEY={0}\n", "sk" + "-proj-" + Chars(UrlSafe, 74) + "T3Blbk" + "FJ" + Chars(UrlSafe, 74)),
        "twilio-api-key" => Line(ruleId, "app/twilio.json", "{{\"api_key\": \"{0}\"}}\n", "S" + "K" + Chars(Hex, 32)),
        "sendgrid-api-key" => Line(ruleId, "app/mail.env", "SENDGRID_API_KEY={0}\n", "S" + "G." + Chars(UrlSafe, 22) + "." + Chars(UrlSafe, 43)),
        "docker-registry-auth" => Line(ruleId, "root/.docker/config.json", "{{\n  \"auths\": {{\n    \"registry.corp.internal:5000\": {{\n      \"auth\": \"{0}\"\n    }}\n  }}\n}}\n",
            Convert.ToBase64String(Encoding.UTF8.GetBytes("ci-bot:" + Chars(Alnum, 24)))),
        _ => throw new ArgumentException($"no fake for rule {ruleId}", nameof(ruleId)),
    };

    /// <summary>Random characters from an alphabet that pass the scanner's placeholder test (a real token would, all but rarely).</summary>
    public string Chars(string alphabet, int length)
    {
        while (true)
        {
            var value = string.Create(length, (alphabet, _random), static (span, state) =>
            {
                for (var i = 0; i < span.Length; i++)
                {
                    span[i] = state.alphabet[state._random.Next(state.alphabet.Length)];
                }
            });
            if (!Lookalike.IsPlaceholder(value))
            {
                return value;
            }
        }
    }

    public byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }

    public int Next(int max) => _random.Next(max);

    private string MixedCase(string alphabet, int length)
    {
        while (true)
        {
            var value = Chars(alphabet, length);
            if (Lookalike.HasMixedCase(value))
            {
                return value;
            }
        }
    }

    private static Planted Line(string ruleId, string path, string template, string secret)
    {
        var text = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, secret);
        var line = text[..text.IndexOf(secret, StringComparison.Ordinal)].Count(c => c == '\n') + 1;
        return new Planted(ruleId, path, text, secret, line);
    }

    private static Planted Pem(string ruleId, string path, string before, string pem)
    {
        var text = before + pem + "\n";
        var body = pem[(pem.IndexOf('\n') + 1)..];
        if (body.Contains(':', StringComparison.Ordinal))
        {
            body = body[(body.IndexOf("\n\n", StringComparison.Ordinal) + 2)..]; // skip armour headers
        }
        var line = before.Count(c => c == '\n') + 1;
        return new Planted(ruleId, path, text, body[..body.IndexOf('\n')], line);
    }

    // One RSA key for every test that needs one: generating it is the slow part.
    public static string RsaPem() => Rsa.Value.ExportRSAPrivateKeyPem();

    public static string Pkcs8Pem() => Rsa.Value.ExportPkcs8PrivateKeyPem();

    public static string EcPem()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return ec.ExportECPrivateKeyPem();
    }

    public static string EncryptedPkcs8Pem() =>
        Rsa.Value.ExportEncryptedPkcs8PrivateKeyPem("a passphrase".AsSpan(), new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000));

    public static RSA SharedRsa => Rsa.Value;

    private static readonly Lazy<RSA> Rsa = new(() => RSA.Create(2048));

    /// <summary>OpenSSL's traditional DSA layout, SEQUENCE { 0, p, q, g, y, x }, with random numbers of the right sizes.</summary>
    public byte[] DsaDer()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            foreach (var size in new[] { 128, 20, 128, 128, 20 })
            {
                writer.WriteInteger(new BigInteger(Bytes(size), isUnsigned: true, isBigEndian: true));
            }
        }
        return writer.Encode();
    }

    /// <summary>An <c>openssh-key-v1</c> record with the given cipher and random key material.</summary>
    public string OpenSshPem(string cipher)
    {
        var record = new List<byte>("openssh-key-v1\0"u8.ToArray());
        void String(byte[] value)
        {
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)value.Length);
            record.AddRange(length);
            record.AddRange(value);
        }
        String(Encoding.ASCII.GetBytes(cipher));
        String(Encoding.ASCII.GetBytes(cipher == "none" ? "none" : "bcrypt"));
        String(cipher == "none" ? [] : Bytes(24));
        record.AddRange(new byte[] { 0, 0, 0, 1 });
        String(Bytes(51));
        String(Bytes(cipher == "none" ? 152 : 160));
        var base64 = Convert.ToBase64String([.. record]);
        return "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n" + string.Join('\n', base64.Chunk(70).Select(c => new string(c))) + "\n-----END OPENSSH " + "PRIVATE KEY-----";
    }

    /// <summary>An armoured OpenPGP block whose first packet is a secret key (tag 5, new format).</summary>
    public string PgpArmor()
    {
        var packet = new byte[180];
        packet[0] = 0xC5;
        packet[1] = 178;
        Bytes(178).CopyTo(packet, 2);
        var base64 = Convert.ToBase64String(packet);
        return "-----BEGIN PGP PRIVATE KEY " + "BLOCK-----\nComment: build key\n\n" + string.Join('\n', base64.Chunk(64).Select(c => new string(c)))
            + "\n=" + Chars(Alnum, 4) + "\n-----END PGP PRIVATE KEY " + "BLOCK-----";
    }
}
