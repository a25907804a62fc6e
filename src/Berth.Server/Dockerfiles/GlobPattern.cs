using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Server.Dockerfiles;

/// <summary>
/// Go's <c>filepath.Match</c> on Linux, which the classic builder uses for ADD and COPY sources with
/// wildcards: <c>*</c> (any run of characters but <c>/</c>), <c>?</c> (one character but <c>/</c>),
/// <c>[…]</c> and <c>[^…]</c> classes with ranges. Backslash escapes, reversed ranges and non-ASCII
/// class bounds count as malformed: callers refuse what they cannot check.
/// </summary>
internal static class GlobPattern
{
    /// <summary><c>containsWildcards</c>.</summary>
    public static bool HasWildcards(string path) => path.IndexOfAny(['*', '?', '[']) >= 0;

    /// <summary>A regex that matches what the pattern matches; false for a malformed pattern (Go's <c>ErrBadPattern</c>).</summary>
    public static bool TryCreate(string pattern, out Regex regex)
    {
        regex = null!;
        var sb = new StringBuilder(@"\A");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*')
            {
                sb.Append("[^/]*");
            }
            else if (c == '?')
            {
                sb.Append(@"(?:[\ud800-\udbff][\udc00-\udfff]|[^/])"); // one rune, as in Go
            }
            else if (c == '[')
            {
                if (!TryClass(pattern, ref i, sb))
                {
                    return false;
                }
            }
            else if (c == '\\')
            {
                return false;
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }
        regex = new Regex(sb.Append(@"\z").ToString(), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        return true;
    }

    /// <summary>A class: <c>[</c>, optional <c>^</c>, one or more <c>lo</c> or <c>lo-hi</c> ranges, <c>]</c>.</summary>
    private static bool TryClass(string pattern, ref int i, StringBuilder sb)
    {
        i++;
        var negated = i < pattern.Length && pattern[i] == '^';
        if (negated)
        {
            i++;
        }
        var ranges = new StringBuilder();
        var count = 0;
        while (true)
        {
            if (i >= pattern.Length)
            {
                return false;
            }
            if (pattern[i] == ']' && count > 0)
            {
                break;
            }
            if (!IsRangeChar(pattern, i))
            {
                return false;
            }
            var lo = pattern[i++];
            var hi = lo;
            if (i < pattern.Length && pattern[i] == '-')
            {
                if (!IsRangeChar(pattern, i + 1))
                {
                    return false;
                }
                hi = pattern[i + 1];
                i += 2;
            }
            if (lo > hi)
            {
                return false;
            }
            ranges.Append(Escape(lo)).Append('-').Append(Escape(hi));
            count++;
        }
        sb.Append(negated ? $@"(?:[\ud800-\udbff][\udc00-\udfff]|[^{ranges}])" : $"[{ranges}]");
        return true;
    }

    /// <summary>A class bound; Berth also refuses non-ASCII bounds (Go compares runes, not UTF-16 units).</summary>
    private static bool IsRangeChar(string pattern, int i) =>
        i < pattern.Length && pattern[i] is not ('-' or ']' or '\\') && pattern[i] <= 0x7F;

    private static string Escape(char c) => @"\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture);
}
