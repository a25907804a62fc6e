using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Cli.Contexts;

/// <summary>
/// A <c>.dockerignore</c> file with Docker's semantics (moby's patternmatcher): one pattern a line, <c>#</c> comments,
/// surrounding spaces trimmed, paths cleaned and relative to the context root (a leading <c>/</c> is dropped);
/// <c>*</c> and <c>?</c> never cross a <c>/</c>, <c>**</c> spans any number of directories (none included),
/// <c>[...]</c> is a character class and <c>\</c> escapes. A pattern matches a path or any of its parent directories;
/// the last pattern that matches decides, and a <c>!</c> pattern is an exception that includes again.
/// </summary>
public sealed class DockerIgnore
{
    private readonly IReadOnlyList<Rule> _rules;

    private DockerIgnore(IReadOnlyList<Rule> rules) => _rules = rules;

    /// <summary>The file ignores nothing.</summary>
    public static DockerIgnore Empty { get; } = new([]);

    public bool HasExceptions => _rules.Any(r => r.Exception);

    /// <summary>The rules of <paramref name="path"/>, or <see cref="Empty"/> when there is no such file.</summary>
    public static DockerIgnore Load(string path) => File.Exists(path) ? Parse(File.ReadAllText(path)) : Empty;

    public static DockerIgnore Parse(string text)
    {
        var rules = new List<Rule>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var exception = line.StartsWith('!');
            if (exception)
            {
                line = line[1..].Trim();
            }
            var pattern = Clean(line);
            if (pattern.Length > 1 && pattern.StartsWith('/'))
            {
                pattern = pattern[1..];
            }
            try
            {
                rules.Add(new Rule(pattern, exception, Compile(pattern)));
            }
            catch (ArgumentException)
            {
                // A [...] set is passed on as a regular expression class; one it cannot read ([z-a]) is the user's to fix.
                throw new ContextRefusedException($".dockerignore line {number}: '{raw.Trim()}' is not a pattern Berth can read (check its [...] set)");
            }
        }
        return new DockerIgnore(rules);
    }

    /// <summary>Whether the context-relative path (with <c>/</c> separators) is left out of the context.</summary>
    public bool Ignores(string path)
    {
        var parents = ParentsOf(path);
        var ignored = false;
        foreach (var rule in _rules)
        {
            if (rule.Exception != ignored)
            {
                continue; // an exception only matters once ignored, an exclusion only while not
            }
            if (rule.Regex.IsMatch(path) || parents.Any(rule.Regex.IsMatch))
            {
                ignored = !rule.Exception;
            }
        }
        return ignored;
    }

    /// <summary>
    /// Whether an ignored directory must still be walked because an exception pattern may take back something under it:
    /// one that starts with the directory's path (as moby does), or one with a wildcard (as BuildKit does). Walking more
    /// never changes the result: <see cref="Ignores"/> decides for every path.
    /// </summary>
    public bool MayIncludeUnder(string directory) =>
        _rules.Any(r => r.Exception && ((r.Pattern + "/").StartsWith(directory + "/", StringComparison.Ordinal) || r.Pattern.AsSpan().IndexOfAny("*?[") >= 0));

    private static string[] ParentsOf(string path)
    {
        var parts = path.Split('/');
        var parents = new string[parts.Length - 1];
        for (var i = 0; i < parents.Length; i++)
        {
            parents[i] = string.Join('/', parts[..(i + 1)]);
        }
        return parents;
    }

    /// <summary>Go's filepath.Clean on a slash path: no empty or "." parts, ".." applied lexically.</summary>
    internal static string Clean(string path)
    {
        var rooted = path.StartsWith('/');
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }
            if (part == ".." && parts.Count > 0 && parts[^1] != "..")
            {
                parts.RemoveAt(parts.Count - 1);
            }
            else if (part != ".." || !rooted)
            {
                parts.Add(part);
            }
        }
        var joined = string.Join('/', parts);
        return rooted ? "/" + joined : joined.Length == 0 ? "." : joined;
    }

    private static Regex Compile(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*' when i + 1 < pattern.Length && pattern[i + 1] == '*':
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                    {
                        i++; // "**/" is "**"
                    }
                    regex.Append(i + 1 >= pattern.Length ? ".*" : "(.*/)?");
                    break;
                case '*':
                    regex.Append("[^/]*");
                    break;
                case '?':
                    regex.Append("[^/]");
                    break;
                case '\\':
                    regex.Append(i + 1 < pattern.Length ? Regex.Escape(pattern[++i].ToString()) : @"\\");
                    break;
                case '[':
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        regex.Append(@"\[");
                        break;
                    }
                    var set = pattern[(i + 1)..end];
                    regex.Append('[').Append(set.StartsWith('!') ? "^" + set[1..] : set).Append(']');
                    i = end;
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }

    private sealed record Rule(string Pattern, bool Exception, Regex Regex);
}
