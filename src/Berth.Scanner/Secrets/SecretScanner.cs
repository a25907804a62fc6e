using System.Buffers;
using System.Text;

namespace Berth.Scanner.Secrets;

/// <summary>
/// Finds secrets (<see cref="SecretRules.All"/>) in one file's bytes. The caller decides which files
/// to read (<see cref="Wants"/>) and skips binaries (<see cref="LooksBinary"/>); <see cref="Scan"/>
/// itself reads whatever it is given. A file costs one vectorised keyword search; a rule's regex runs
/// only on files that contain one of its keywords.
/// </summary>
public static class SecretScanner
{
    /// <summary>Files larger than this are not scanned: secrets live in small config and key files.</summary>
    public const long MaxFileSize = 1024 * 1024;

    /// <summary>A file reports at most this many matches (the first ones in file order).</summary>
    public const int MaxMatchesPerFile = 20;

    /// <summary>How much of a file's head <see cref="LooksBinary"/> looks at.</summary>
    public const int BinaryProbeLength = 8192;

    private const string MaskSuffix = "*****";

    /// <summary>
    /// Package-installed text that quotes key formats as examples: documentation, manual and info
    /// pages, licences, translations and locale data, time zones. Nothing of a job's own goes there.
    /// </summary>
    private static readonly string[] SkippedFolders =
    [
        "usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/help/",
        "usr/share/common-licenses/", "usr/share/licenses/",
        "usr/share/locale/", "usr/lib/locale/", "usr/share/i18n/", "usr/share/zoneinfo/",
    ];

    private static readonly KeywordIndex Keywords = new(SecretRules.All);

    /// <summary>Whether a file of this path (relative to the image root) and size is worth reading for secrets.</summary>
    public static bool Wants(string path, long size)
    {
        if (size <= 0 || size > MaxFileSize)
        {
            return false;
        }
        var relative = Normalize(path);
        foreach (var folder in SkippedFolders)
        {
            if (relative.StartsWith(folder, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>True when the head of a file (its first <see cref="BinaryProbeLength"/> bytes are enough) has a NUL byte.</summary>
    public static bool LooksBinary(ReadOnlySpan<byte> head) =>
        head[..Math.Min(head.Length, BinaryProbeLength)].Contains((byte)0);

    /// <summary>The secrets in a file, in file order, at most <see cref="MaxMatchesPerFile"/>.</summary>
    public static IReadOnlyList<SecretMatch> Scan(string path, ReadOnlySpan<byte> content) => Scan(path, content, prefilter: true);

    /// <summary>The same; <paramref name="prefilter"/> false runs every rule's regex (for measuring what the keywords save).</summary>
    internal static IReadOnlyList<SecretMatch> Scan(string path, ReadOnlySpan<byte> content, bool prefilter)
    {
        if (content.IsEmpty)
        {
            return [];
        }
        var rules = SecretRules.All;
        Span<bool> applies = stackalloc bool[rules.Count];
        Span<bool> wanted = stackalloc bool[rules.Count];
        var applicable = Applicable(path, applies);

        // Latin-1 maps each byte to one char, so offsets are byte offsets, and no input can fail to decode.
        // Secrets are ASCII; the patterns use explicit ASCII classes, so high bytes never join a token.
        var buffer = ArrayPool<char>.Shared.Rent(content.Length);
        var chars = buffer.AsSpan(0, content.Length);
        try
        {
            Encoding.Latin1.GetChars(content, chars);
            if (prefilter)
            {
                if (!Keywords.Mark(chars, applies, applicable, wanted))
                {
                    return [];
                }
            }
            else
            {
                applies.CopyTo(wanted);
            }
            // Most woken rules find nothing; asking on the span first saves copying the file into a string.
            var any = false;
            for (var r = 0; r < rules.Count; r++)
            {
                wanted[r] = wanted[r] && rules[r].Pattern.IsMatch(chars);
                any |= wanted[r];
            }
            return any ? Match(new string(chars), content, wanted) : [];
        }
        finally
        {
            chars.Clear(); // the file may hold secrets: leave none in the shared pool
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>Whether any rule's keyword occurs in the file, that is whether <see cref="Scan"/> runs any regex on it.</summary>
    internal static bool WakesAnyRule(string path, ReadOnlySpan<byte> content)
    {
        var rules = SecretRules.All;
        Span<bool> applies = stackalloc bool[rules.Count];
        Span<bool> wanted = stackalloc bool[rules.Count];
        var applicable = Applicable(path, applies);
        var buffer = ArrayPool<char>.Shared.Rent(content.Length);
        var chars = buffer.AsSpan(0, content.Length);
        try
        {
            Encoding.Latin1.GetChars(content, chars);
            return Keywords.Mark(chars, applies, applicable, wanted);
        }
        finally
        {
            chars.Clear();
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>Sets which rules look at a file of this path; returns how many do.</summary>
    private static int Applicable(string path, Span<bool> applies)
    {
        var relative = Normalize(path);
        var count = 0;
        for (var r = 0; r < applies.Length; r++)
        {
            applies[r] = SecretRules.All[r].AppliesTo(relative);
            count += applies[r] ? 1 : 0;
        }
        return count;
    }

    private static List<SecretMatch> Match(string text, ReadOnlySpan<byte> content, ReadOnlySpan<bool> wanted)
    {
        var rules = SecretRules.All;
        var found = new List<(int Index, int End, int Rule, string Masked)>();
        for (var r = 0; r < rules.Count; r++)
        {
            if (!wanted[r])
            {
                continue;
            }
            var kept = 0;
            for (var m = rules[r].Pattern.Match(text); m.Success && kept < MaxMatchesPerFile; m = m.NextMatch())
            {
                if (!rules[r].Accept(m))
                {
                    continue;
                }
                var secret = m.Groups["secret"];
                found.Add((m.Index, m.Index + m.Length, r, Mask(secret.Success ? secret.Value : m.Value)));
                kept++;
            }
        }
        if (found.Count == 0)
        {
            return [];
        }
        found.Sort((a, b) => a.Index != b.Index ? a.Index.CompareTo(b.Index) : a.Rule.CompareTo(b.Rule));

        var matches = new List<SecretMatch>();
        int line = 1, counted = 0, end = -1;
        foreach (var f in found)
        {
            if (f.Index < end)
            {
                continue; // overlaps a match already reported (an earlier rule wins)
            }
            line += content[counted..f.Index].Count((byte)'\n');
            counted = f.Index;
            end = f.End;
            var rule = rules[f.Rule];
            matches.Add(new SecretMatch(rule.Id, rule.Title, rule.Severity, line, f.Masked));
            if (matches.Count == MaxMatchesPerFile)
            {
                break;
            }
        }
        return matches;
    }

    /// <summary>At most the first four characters (fewer for a short value), then <c>*****</c>.</summary>
    internal static string Mask(string secret) => string.Concat(secret.AsSpan(0, Math.Min(4, secret.Length / 5)), MaskSuffix);

    private static string Normalize(string path)
    {
        var p = path.AsSpan();
        while (p.StartsWith("./", StringComparison.Ordinal) || p.StartsWith('/'))
        {
            p = p[(p[0] == '.' ? 2 : 1)..];
        }
        return p.Length == path.Length ? path : p.ToString();
    }

    /// <summary>
    /// The rule keywords as two <see cref="SearchValues{T}"/> sets, and which rules each keyword wakes.
    /// Keywords of <see cref="SecretRule.MinCaseInsensitiveKeyword"/> characters or more are matched ASCII
    /// case-insensitively; shorter ones exactly, in a set of their own (mixing two-character needles into
    /// the multi-string search made it several times slower on real text).
    /// </summary>
    private sealed class KeywordIndex
    {
        private readonly KeywordSet _long;
        private readonly KeywordSet _short;

        public KeywordIndex(IReadOnlyList<SecretRule> rules)
        {
            var keywords = rules
                .SelectMany((rule, r) => rule.Keywords.Select(k => (Keyword: k, Rule: r)))
                .ToList();
            _long = new KeywordSet(keywords.Where(k => k.Keyword.Length >= SecretRule.MinCaseInsensitiveKeyword), StringComparison.OrdinalIgnoreCase);
            _short = new KeywordSet(keywords.Where(k => k.Keyword.Length < SecretRule.MinCaseInsensitiveKeyword), StringComparison.Ordinal);
        }

        /// <summary>Sets <paramref name="wanted"/> for each applicable rule whose keyword occurs; false when none does.</summary>
        public bool Mark(ReadOnlySpan<char> text, ReadOnlySpan<bool> applies, int applicable, Span<bool> wanted)
        {
            var marked = _long.Mark(text, applies, applicable, wanted, 0);
            marked = _short.Mark(text, applies, applicable, wanted, marked);
            return marked > 0;
        }
    }

    private sealed class KeywordSet
    {
        private readonly StringComparison _comparison;
        private readonly SearchValues<string> _any;
        private readonly (string Text, int[] Rules)[][] _byFirstChar = new (string, int[])[128][];

        public KeywordSet(IEnumerable<(string Keyword, int Rule)> keywords, StringComparison comparison)
        {
            _comparison = comparison;
            var comparer = comparison == StringComparison.Ordinal ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
            var rulesOf = keywords
                .GroupBy(k => k.Keyword, comparer)
                .ToDictionary(g => g.Key, g => g.Select(k => k.Rule).Distinct().ToArray(), comparer);
            _any = SearchValues.Create([.. rulesOf.Keys], comparison);
            for (var c = 0; c < 128; c++)
            {
                _byFirstChar[c] = [.. rulesOf
                    .Where(k => Fold(k.Key[0]) == c)
                    .Select(k => (k.Key, k.Value))];
            }
        }

        private char Fold(char c) => _comparison == StringComparison.Ordinal ? c : char.ToLowerInvariant(c);

        public int Mark(ReadOnlySpan<char> text, ReadOnlySpan<bool> applies, int applicable, Span<bool> wanted, int marked)
        {
            var position = 0;
            while (marked < applicable)
            {
                var hit = text[position..].IndexOfAny(_any);
                if (hit < 0)
                {
                    break;
                }
                position += hit;
                var rest = text[position..];
                position++;
                if (rest[0] >= 128)
                {
                    continue; // a non-ASCII letter that folds to a keyword's first letter; keywords are ASCII
                }
                foreach (var (keyword, rules) in _byFirstChar[Fold(rest[0])])
                {
                    if (!rest.StartsWith(keyword, _comparison))
                    {
                        continue;
                    }
                    foreach (var r in rules)
                    {
                        if (applies[r] && !wanted[r])
                        {
                            wanted[r] = true;
                            marked++;
                        }
                    }
                }
            }
            return marked;
        }
    }
}
