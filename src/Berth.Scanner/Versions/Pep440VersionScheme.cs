using System.Numerics;
using System.Text.RegularExpressions;

namespace Berth.Scanner.Versions;

/// <summary>
/// PEP 440 ordering, as Python's <c>packaging</c> does it: epoch, release, pre, post, dev, local.
/// Strings that are not PEP 440 use packaging's old "legacy" ordering and sort before every valid version.
/// </summary>
public sealed partial class Pep440VersionScheme : IVersionScheme
{
    [GeneratedRegex(@"^\s*v?(?:(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\.[0-9]+)*)(?<pre>[-_\.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?<pre_n>[0-9]+)?)?(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_\.]?(?<post_l>post|rev|r)[-_\.]?(?<post_n2>[0-9]+)?))?(?<dev>[-_\.]?(?<dev_l>dev)[-_\.]?(?<dev_n>[0-9]+)?)?)(?:\+(?<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    [GeneratedRegex(@"(\d+|[a-z]+|\.|-)", RegexOptions.CultureInvariant)]
    private static partial Regex LegacyPart();

    public int Compare(string a, string b)
    {
        var va = Parse(a);
        var vb = Parse(b);
        return (va, vb) switch
        {
            (Valid x, Valid y) => x.CompareTo(y),
            (Legacy x, Legacy y) => CompareSequences(x.Parts, y.Parts, string.CompareOrdinal),
            (Legacy, Valid) => -1,
            _ => 1,
        };
    }

    private abstract record Key;

    private sealed record Legacy(IReadOnlyList<string> Parts) : Key;

    /// <summary>Pre kind: 0 a, 1 b, 2 rc. Absent parts are encoded so that tuples compare like packaging's _cmpkey.</summary>
    private sealed record Valid(BigInteger Epoch, IReadOnlyList<BigInteger> Release, (int Rank, int Kind, BigInteger N) Pre,
        (int Rank, BigInteger N) Post, (int Rank, BigInteger N) Dev, IReadOnlyList<(bool Numeric, BigInteger N, string S)>? Local) : Key
    {
        public int CompareTo(Valid o)
        {
            var c = Epoch.CompareTo(o.Epoch);
            if (c != 0) return c;
            c = CompareSequences(Release, o.Release, (x, y) => x.CompareTo(y));
            if (c != 0) return c;
            c = Pre.Rank.CompareTo(o.Pre.Rank);
            if (c != 0) return c;
            if (Pre.Rank == 0)
            {
                c = Pre.Kind.CompareTo(o.Pre.Kind);
                if (c != 0) return c;
                c = Pre.N.CompareTo(o.Pre.N);
                if (c != 0) return c;
            }
            c = Post.Rank.CompareTo(o.Post.Rank);
            if (c != 0) return c;
            c = Post.N.CompareTo(o.Post.N);
            if (c != 0) return c;
            c = Dev.Rank.CompareTo(o.Dev.Rank);
            if (c != 0) return c;
            c = Dev.N.CompareTo(o.Dev.N);
            if (c != 0) return c;
            if (Local is null || o.Local is null)
            {
                return (Local is null ? 0 : 1).CompareTo(o.Local is null ? 0 : 1);
            }
            // Numeric local parts sort after alphanumeric ones; a shorter prefix sorts first.
            return CompareSequences(Local, o.Local, (x, y) =>
                x.Numeric != y.Numeric ? (x.Numeric ? 1 : -1) : x.Numeric ? x.N.CompareTo(y.N) : string.CompareOrdinal(x.S, y.S));
        }
    }

    private static Key Parse(string text)
    {
        var m = Pattern().Match(text);
        if (!m.Success)
        {
            return new Legacy(LegacyParts(text));
        }
        var release = m.Groups["release"].Value.Split('.').Select(BigInteger.Parse).ToList();
        while (release.Count > 1 && release[^1].IsZero)
        {
            release.RemoveAt(release.Count - 1);
        }
        var hasPre = m.Groups["pre"].Success;
        var hasPost = m.Groups["post"].Success;
        var hasDev = m.Groups["dev"].Success;
        // packaging: no pre and no post but a dev release sorts before any pre-release (1.0.dev0 < 1.0a0).
        (int, int, BigInteger) pre = hasPre
            ? (0, PreKind(m.Groups["pre_l"].Value), Number(m.Groups["pre_n"]))
            : (!hasPost && hasDev ? -1 : 1, 0, BigInteger.Zero);
        (int, BigInteger) post = hasPost
            ? (1, m.Groups["post_n1"].Success ? BigInteger.Parse(m.Groups["post_n1"].Value) : Number(m.Groups["post_n2"]))
            : (0, BigInteger.Zero);
        (int, BigInteger) dev = hasDev ? (0, Number(m.Groups["dev_n"])) : (1, BigInteger.Zero);
        var local = m.Groups["local"].Success
            ? m.Groups["local"].Value.ToLowerInvariant().Split(['-', '_', '.'])
                .Select(p => p.All(char.IsAsciiDigit) ? (true, BigInteger.Parse(p), "") : (false, BigInteger.Zero, p)).ToList()
            : null;
        var epoch = m.Groups["epoch"].Success ? BigInteger.Parse(m.Groups["epoch"].Value) : BigInteger.Zero;
        return new Valid(epoch, release, pre, post, dev, local);
    }

    private static BigInteger Number(Group g) => g.Success ? BigInteger.Parse(g.Value) : BigInteger.Zero;

    private static int PreKind(string label) => label.ToLowerInvariant() switch
    {
        "a" or "alpha" => 0,
        "b" or "beta" => 1,
        _ => 2, // c, rc, pre, preview
    };

    /// <summary>packaging's LegacyVersion key (setuptools' old parse_version).</summary>
    private static List<string> LegacyParts(string text)
    {
        var parts = new List<string>();
        foreach (Match m in LegacyPart().Matches(text.ToLowerInvariant()))
        {
            var raw = m.Value switch { "pre" or "preview" or "rc" => "c", "-" => "final-", "dev" => "@", var other => other };
            if (raw is "" or ".")
            {
                continue;
            }
            var part = char.IsAsciiDigit(raw[0]) ? raw.PadLeft(8, '0') : "*" + raw;
            if (part.StartsWith('*'))
            {
                if (string.CompareOrdinal(part, "*final") < 0)
                {
                    while (parts.Count > 0 && parts[^1] == "*final-")
                    {
                        parts.RemoveAt(parts.Count - 1);
                    }
                }
                while (parts.Count > 0 && parts[^1] == "00000000")
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            parts.Add(part);
        }
        parts.Add("*final");
        return parts;
    }

    private static int CompareSequences<T>(IReadOnlyList<T> a, IReadOnlyList<T> b, Func<T, T, int> compare)
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            var c = compare(a[i], b[i]);
            if (c != 0)
            {
                return c;
            }
        }
        return a.Count.CompareTo(b.Count);
    }
}
