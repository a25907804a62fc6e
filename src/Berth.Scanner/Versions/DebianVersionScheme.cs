namespace Berth.Scanner.Versions;

/// <summary>dpkg ordering: <c>[epoch:]upstream[-revision]</c>, with <c>~</c> sorting before everything.</summary>
public sealed class DebianVersionScheme : IVersionScheme
{
    public int Compare(string a, string b)
    {
        var (ae, au, ar) = Split(a);
        var (be, bu, br) = Split(b);
        var byEpoch = CompareDigits(ae, be);
        if (byEpoch != 0)
        {
            return byEpoch;
        }
        var byUpstream = VerRevCmp(au, bu);
        return byUpstream != 0 ? byUpstream : VerRevCmp(ar, br);
    }

    private static (string Epoch, string Upstream, string Revision) Split(string version)
    {
        var v = version.Trim();
        var epoch = "0";
        var colon = v.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && v[..colon].All(char.IsAsciiDigit))
        {
            epoch = v[..colon];
            v = v[(colon + 1)..];
        }
        var dash = v.LastIndexOf('-');
        return dash < 0 ? (epoch, v, "") : (epoch, v[..dash], v[(dash + 1)..]);
    }

    /// <summary>dpkg's verrevcmp: alternating non-digit and digit runs.</summary>
    private static int VerRevCmp(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            var firstDiff = 0;
            while ((i < a.Length && !char.IsAsciiDigit(a[i])) || (j < b.Length && !char.IsAsciiDigit(b[j])))
            {
                var ac = Order(a, i);
                var bc = Order(b, j);
                if (ac != bc)
                {
                    return ac - bc;
                }
                i++;
                j++;
            }
            while (i < a.Length && a[i] == '0')
            {
                i++;
            }
            while (j < b.Length && b[j] == '0')
            {
                j++;
            }
            while (i < a.Length && char.IsAsciiDigit(a[i]) && j < b.Length && char.IsAsciiDigit(b[j]))
            {
                if (firstDiff == 0)
                {
                    firstDiff = a[i] - b[j];
                }
                i++;
                j++;
            }
            if (i < a.Length && char.IsAsciiDigit(a[i]))
            {
                return 1;
            }
            if (j < b.Length && char.IsAsciiDigit(b[j]))
            {
                return -1;
            }
            if (firstDiff != 0)
            {
                return firstDiff;
            }
        }
        return 0;
    }

    private static int Order(string s, int i)
    {
        if (i >= s.Length)
        {
            return 0;
        }
        var c = s[i];
        return char.IsAsciiDigit(c) ? 0 : char.IsAsciiLetter(c) ? c : c == '~' ? -1 : c + 256;
    }

    private static int CompareDigits(string a, string b)
    {
        a = a.TrimStart('0');
        b = b.TrimStart('0');
        return a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
    }
}
