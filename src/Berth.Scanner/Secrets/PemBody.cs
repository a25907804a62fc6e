using System.Buffers.Binary;
using System.Text;

namespace Berth.Scanner.Secrets;

/// <summary>What the body of a <c>-----BEGIN … PRIVATE KEY-----</c> block turned out to be.</summary>
internal enum PemVerdict
{
    /// <summary>Not a key: too short, not base64, or the decoded bytes are not of the labelled format.</summary>
    NotAKey,

    /// <summary>A key anyone holding the file can use.</summary>
    Plain,

    /// <summary>A key protected by a passphrase (PKCS#8 encrypted, legacy <c>Proc-Type: 4,ENCRYPTED</c>, OpenSSH with a cipher).</summary>
    Encrypted,
}

/// <summary>
/// Decides whether a PEM private-key block has a real-looking body: base64 that decodes to the
/// structure its label promises (a DER SEQUENCE whose length is the body's length, OpenSSH's
/// <c>openssh-key-v1</c> record, an OpenPGP secret-key packet). Bodies may be split by newlines,
/// by spaces, or by JSON's <c>\n</c> escapes (a service-account key file).
/// </summary>
internal static class PemBody
{
    private const int MinKeyBytes = 32; // an Ed25519 PKCS#8 key, the smallest real one, is 48 bytes

    private static readonly byte[] OpenSshMagic = "openssh-key-v1\0"u8.ToArray();

    public static PemVerdict Classify(string label, string headers, string body)
    {
        var pgp = label == "PGP";
        var bytes = Decode(body, pgp);
        if (bytes is null || bytes.Length < MinKeyBytes)
        {
            return PemVerdict.NotAKey;
        }
        switch (label)
        {
            case "PGP":
                return IsSecretKeyPacket(bytes) ? PemVerdict.Plain : PemVerdict.NotAKey;
            case "OPENSSH":
                return OpenSshCipher(bytes) switch
                {
                    null => PemVerdict.NotAKey,
                    "none" => PemVerdict.Plain,
                    _ => PemVerdict.Encrypted,
                };
            case "ENCRYPTED":
                return IsDerSequence(bytes) ? PemVerdict.Encrypted : PemVerdict.NotAKey;
            default:
                // RFC 1421 headers: the body is ciphertext, not DER.
                if (headers.Contains("Proc-Type:", StringComparison.OrdinalIgnoreCase) && headers.Contains("ENCRYPTED", StringComparison.Ordinal))
                {
                    return PemVerdict.Encrypted;
                }
                return IsDerSequence(bytes) ? PemVerdict.Plain : PemVerdict.NotAKey;
        }
    }

    /// <summary>The base64 characters of a body with separators and escapes removed, or null when something else is in it.</summary>
    public static string? Base64Text(string body, bool pgp)
    {
        var text = new StringBuilder(body.Length);
        var lineStart = 0; // index in text where the current line began
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (c == '\\' && i + 1 < body.Length)
            {
                var next = body[++i];
                if (next is 'n' or 'r')
                {
                    lineStart = text.Length;
                    continue;
                }
                if (next == '/')
                {
                    text.Append('/'); // JSON may escape the solidus
                    continue;
                }
                return null;
            }
            if (c is '\n' or '\r')
            {
                lineStart = text.Length;
                continue;
            }
            if (c is ' ' or '\t')
            {
                continue;
            }
            if (c == '\\')
            {
                return null;
            }
            if (pgp && c == '=' && text.Length == lineStart && text.Length > 0)
            {
                // An armour checksum line (=XXXX) ends the data; keep only what came before it.
                return text.ToString();
            }
            text.Append(c);
        }
        return text.ToString();
    }

    private static byte[]? Decode(string body, bool pgp)
    {
        var text = Base64Text(body, pgp);
        if (text is null || text.Length % 4 != 0)
        {
            return null;
        }
        var bytes = new byte[text.Length / 4 * 3];
        return Convert.TryFromBase64String(text, bytes, out var written) ? bytes[..written] : null;
    }

    /// <summary>A DER SEQUENCE whose encoded length covers exactly the decoded bytes.</summary>
    private static bool IsDerSequence(ReadOnlySpan<byte> der)
    {
        if (der.Length < 2 || der[0] != 0x30)
        {
            return false;
        }
        int first = der[1], header, length;
        if (first < 0x80)
        {
            (header, length) = (2, first);
        }
        else
        {
            var count = first & 0x7F;
            if (count is 0 or > 3 || der.Length < 2 + count)
            {
                return false;
            }
            length = 0;
            for (var i = 0; i < count; i++)
            {
                length = (length << 8) | der[2 + i];
            }
            header = 2 + count;
        }
        return header + length == der.Length;
    }

    /// <summary>The cipher name of an <c>openssh-key-v1</c> record, or null when the bytes are not one.</summary>
    private static string? OpenSshCipher(ReadOnlySpan<byte> key)
    {
        if (!key.StartsWith(OpenSshMagic) || key.Length < OpenSshMagic.Length + 4)
        {
            return null;
        }
        var rest = key[OpenSshMagic.Length..];
        var length = BinaryPrimitives.ReadUInt32BigEndian(rest);
        if (length is 0 or > 64 || rest.Length < 4 + (int)length)
        {
            return null;
        }
        var name = rest.Slice(4, (int)length);
        return Ascii.IsValid(name) ? Encoding.ASCII.GetString(name) : null;
    }

    /// <summary>An OpenPGP packet with tag 5 (secret key), in the old or the new header format.</summary>
    private static bool IsSecretKeyPacket(ReadOnlySpan<byte> packet)
    {
        var b = packet[0];
        if ((b & 0x80) == 0)
        {
            return false;
        }
        var tag = (b & 0x40) != 0 ? b & 0x3F : (b >> 2) & 0x0F;
        return tag == 5;
    }
}
