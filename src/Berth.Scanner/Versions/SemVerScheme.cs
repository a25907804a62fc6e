using System.Numerics;

namespace Berth.Scanner.Versions;

/// <summary>
/// SemVer 2.0 ordering, leniently: a leading <c>v</c> is ignored, missing minor/patch count as 0,
/// build metadata (after <c>+</c>, or any component after the third) is ignored, and pre-release
/// identifiers compare numerically when numeric, in ASCII order otherwise, numeric before alphanumeric.
/// </summary>
public sealed class SemVerScheme : IVersionScheme
{
    public int Compare(string a, string b)
    {
        var (ac, ap) = Parse(a);
        var (bc, bp) = Parse(b);
        for (var i = 0; i < 3; i++)
        {
            var c = ac[i].CompareTo(bc[i]);
            if (c != 0)
            {
                return c;
            }
        }
        if (ap is null || bp is null)
        {
            return (ap is null ? 1 : 0).CompareTo(bp is null ? 1 : 0); // a pre-release sorts before its release
        }
        for (var i = 0; i < Math.Min(ap.Length, bp.Length); i++)
        {
            var c = CompareIdentifier(ap[i], bp[i]);
            if (c != 0)
            {
                return c;
            }
        }
        return ap.Length.CompareTo(bp.Length);
    }

    private static (BigInteger[] Core, string[]? Pre) Parse(string version)
    {
        var v = version.Trim();
        if (v.StartsWith('v') || v.StartsWith('V'))
        {
            v = v[1..];
        }
        var plus = v.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0)
        {
            v = v[..plus];
        }
        string[]? pre = null;
        var dash = v.IndexOf('-', StringComparison.Ordinal);
        if (dash >= 0)
        {
            pre = v[(dash + 1)..].Split('.');
            v = v[..dash];
        }
        var core = new BigInteger[3];
        var parts = v.Split('.');
        for (var i = 0; i < 3 && i < parts.Length; i++)
        {
            core[i] = BigInteger.TryParse(LeadingDigits(parts[i]), out var n) ? n : BigInteger.Zero;
        }
        return (core, pre);
    }

    private static string LeadingDigits(string s) => new(s.TakeWhile(char.IsAsciiDigit).ToArray());

    private static int CompareIdentifier(string a, string b)
    {
        var an = a.Length > 0 && a.All(char.IsAsciiDigit);
        var bn = b.Length > 0 && b.All(char.IsAsciiDigit);
        if (an && bn)
        {
            return BigInteger.Parse(a).CompareTo(BigInteger.Parse(b));
        }
        if (an != bn)
        {
            return an ? -1 : 1;
        }
        return Math.Sign(string.CompareOrdinal(a, b));
    }
}
