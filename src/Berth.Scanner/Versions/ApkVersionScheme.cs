namespace Berth.Scanner.Versions;

/// <summary>
/// apk ordering, as <c>apk version -t</c> of apk-tools 2.x (Alpine's current releases) orders versions:
/// <c>digit{.digit}...{letter}{_suffix{#}}...{~hash}{-r#}</c>. A version is read as typed tokens;
/// pre-release suffixes (<c>_alpha</c>, <c>_beta</c>, <c>_pre</c>, <c>_rc</c>) sort before the release,
/// post-release ones (<c>_cvs</c>, <c>_svn</c>, <c>_git</c>, <c>_hg</c>, <c>_p</c>) after it, a digit run
/// with a leading zero compares as text, and a malformed tail makes a version sort lower.
/// </summary>
public sealed class ApkVersionScheme : IVersionScheme
{
    private enum Kind
    {
        InitialDigit,
        Digit,
        Letter,
        Suffix,
        SuffixNumber,
        CommitHash,
        Revision,
        End,
        Invalid,
    }

    /// <summary>Suffix order; <see cref="ReleaseRank"/> marks the release itself.</summary>
    private static readonly string[] Suffixes = ["alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"];
    private const int ReleaseRank = 4;

    private readonly record struct Token(Kind Kind, string Text, int SuffixRank);

    public int Compare(string a, string b)
    {
        var ta = Tokenize(a);
        var tb = Tokenize(b);
        var i = 0;
        while (ta[i].Kind == tb[i].Kind && ta[i].Kind < Kind.End)
        {
            var c = CompareSameKind(ta[i], tb[i]);
            if (c != 0)
            {
                return c;
            }
            i++;
        }
        Token x = ta[i], y = tb[i];
        if (x.Kind == y.Kind)
        {
            return 0;
        }
        if (x.Kind == Kind.Suffix && x.SuffixRank < ReleaseRank)
        {
            return -1;
        }
        if (y.Kind == Kind.Suffix && y.SuffixRank < ReleaseRank)
        {
            return 1;
        }
        return x.Kind > y.Kind ? -1 : 1;
    }

    private static int CompareSameKind(Token x, Token y) => x.Kind switch
    {
        Kind.Digit when x.Text.StartsWith('0') || y.Text.StartsWith('0') => Math.Sign(string.CompareOrdinal(x.Text, y.Text)),
        Kind.InitialDigit or Kind.Digit or Kind.SuffixNumber or Kind.Revision => CompareNumbers(x.Text, y.Text),
        Kind.Letter => x.Text[0].CompareTo(y.Text[0]),
        Kind.Suffix => x.SuffixRank.CompareTo(y.SuffixRank),
        _ => Math.Sign(string.CompareOrdinal(x.Text, y.Text)),
    };

    private static int CompareNumbers(string x, string y) // arbitrary length, "" is 0
    {
        x = x.TrimStart('0');
        y = y.TrimStart('0');
        return x.Length != y.Length ? x.Length.CompareTo(y.Length) : Math.Sign(string.CompareOrdinal(x, y));
    }

    /// <summary>The version's tokens; the last is always End or Invalid.</summary>
    private static List<Token> Tokenize(string s)
    {
        var tokens = new List<Token>();
        var i = 0;
        var digits = Digits(s, ref i);
        var kind = Kind.InitialDigit; // may be empty: "a" < "b"
        tokens.Add(new Token(kind, digits, 0));
        while (kind < Kind.End)
        {
            var token = NextToken(s, ref i, tokens[^1]);
            tokens.Add(token);
            kind = token.Kind;
        }
        return tokens;
    }

    private static Token NextToken(string s, ref int i, Token last)
    {
        var previous = last.Kind;
        if (i >= s.Length)
        {
            return new Token(Kind.End, "", 0);
        }
        var invalid = new Token(Kind.Invalid, "", 0);
        var c = s[i];
        if (char.IsAsciiLetterLower(c))
        {
            // A letter follows a number ("1.2a"), not an empty component ("0.r1").
            var afterNumber = previous == Kind.InitialDigit || (previous == Kind.Digit && last.Text.Length > 0) || previous == Kind.Letter;
            i++;
            return afterNumber ? new Token(Kind.Letter, c.ToString(), 0) : invalid;
        }
        if (c == '.')
        {
            if (previous > Kind.Digit)
            {
                return invalid;
            }
            i++;
            return new Token(Kind.Digit, Digits(s, ref i), 0); // "1..2" has an empty component
        }
        if (char.IsAsciiDigit(c))
        {
            var kind = previous switch
            {
                Kind.Letter => Kind.Digit, // "5.9p1"
                Kind.Suffix => Kind.SuffixNumber,
                _ => Kind.Invalid,
            };
            return kind == Kind.Invalid ? invalid : new Token(kind, Digits(s, ref i), 0);
        }
        switch (c)
        {
            case '_':
                if (previous > Kind.SuffixNumber)
                {
                    return invalid;
                }
                i++;
                var start = i;
                while (i < s.Length && char.IsAsciiLetterLower(s[i]))
                {
                    i++;
                }
                var name = s[start..i];
                var rank = name.Length == 0 ? -1 : Array.IndexOf(Suffixes, name);
                return rank < 0 ? invalid : new Token(Kind.Suffix, name, rank);
            case '~':
                if (previous >= Kind.CommitHash)
                {
                    return invalid;
                }
                i++;
                var hashStart = i;
                while (i < s.Length && char.IsAsciiHexDigit(s[i]))
                {
                    i++;
                }
                return i == hashStart ? invalid : new Token(Kind.CommitHash, s[hashStart..i], 0);
            case '-':
                if (previous >= Kind.Revision || i + 1 >= s.Length || s[i + 1] != 'r')
                {
                    return invalid;
                }
                i += 2;
                var revision = Digits(s, ref i);
                // "-r" at the end means -r0; "-r" followed by anything but digits is malformed.
                return revision.Length == 0 && i < s.Length ? invalid : new Token(Kind.Revision, revision, 0);
            default:
                return invalid;
        }
    }

    private static string Digits(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }
        return s[start..i];
    }
}
