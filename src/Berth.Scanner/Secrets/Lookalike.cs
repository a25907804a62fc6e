namespace Berth.Scanner.Secrets;

/// <summary>
/// Tells a random-looking token from the placeholders that documentation and templates use in the
/// same format: <c>EXAMPLE</c> keys, runs like <c>xxxxxx</c> or <c>123456</c>, too few distinct
/// characters. The thresholds keep the chance of rejecting a real random token below about 1e-4.
/// </summary>
internal static class Lookalike
{
    private static readonly string[] Markers = ["example", "dummy", "sample", "placeholder", "redacted"];

    /// <summary>True when <paramref name="token"/> (the random part of a secret) looks made up.</summary>
    public static bool IsPlaceholder(ReadOnlySpan<char> token)
    {
        foreach (var marker in Markers)
        {
            if (token.Contains(marker, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        Span<bool> seen = stackalloc bool[128];
        var distinct = 0;
        int same = 1, up = 1, down = 1;
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            if (c < 128 && !seen[c])
            {
                seen[c] = true;
                distinct++;
            }
            if (i == 0)
            {
                continue;
            }
            var prev = token[i - 1];
            same = c == prev ? same + 1 : 1;
            up = c == prev + 1 ? up + 1 : 1;
            down = c == prev - 1 ? down + 1 : 1;
            if (same >= 6 || up >= 6 || down >= 6)
            {
                return true; // xxxxxx, 000000, abcdef, 123456, 987654
            }
        }
        return distinct < token.Length / 3;
    }

    /// <summary>True when the text has at least one ASCII upper-case and one lower-case letter.</summary>
    public static bool HasMixedCase(ReadOnlySpan<char> token) =>
        token.ContainsAnyInRange('A', 'Z') && token.ContainsAnyInRange('a', 'z');
}
