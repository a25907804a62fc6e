using System.Text.RegularExpressions;

namespace Berth.Scanner.Secrets;

/// <summary>
/// One kind of secret. <see cref="Keywords"/> are searched first and <see cref="Pattern"/> runs only
/// on a file that contains one of them, so each match must contain a keyword. Keywords of
/// <see cref="MinCaseInsensitiveKeyword"/> characters or more match ASCII case-insensitively; shorter
/// ones (<c>SK</c>, <c>hf_</c>) match exactly, as the formats that need them are case-sensitive. The pattern's <c>secret</c> group is the value that gets masked (the whole match when
/// it has no such group). <see cref="Severity"/> is <c>critical</c>, <c>high</c>, <c>medium</c> or <c>low</c>.
/// </summary>
public sealed class SecretRule
{
    /// <summary>The severities a rule may have, most severe first.</summary>
    public static readonly IReadOnlyList<string> Severities = ["critical", "high", "medium", "low"];

    /// <summary>The shortest keyword that is matched case-insensitively.</summary>
    public const int MinCaseInsensitiveKeyword = 4;

    public SecretRule(string id, string title, string severity, IReadOnlyList<string> keywords, Regex pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentException.ThrowIfNullOrWhiteSpace(title);
        if (!Severities.Contains(severity))
        {
            throw new ArgumentException($"Rule {id}: severity '{severity}' is not one of {string.Join(", ", Severities)}.", nameof(severity));
        }
        if (keywords.Count == 0 || keywords.Any(k => k.Length == 0 || !k.All(char.IsAscii)))
        {
            throw new ArgumentException($"Rule {id}: needs at least one keyword, each non-empty ASCII.", nameof(keywords));
        }
        Id = id;
        Title = title;
        Severity = severity;
        Keywords = keywords;
        Pattern = pattern;
    }

    public string Id { get; }

    public string Title { get; }

    public string Severity { get; }

    public IReadOnlyList<string> Keywords { get; }

    public Regex Pattern { get; }

    /// <summary>A check on a regex match that the pattern cannot express (placeholders, decoded bodies); true keeps it.</summary>
    internal Func<Match, bool> Accept { get; init; } = static _ => true;

    /// <summary>Whether the rule looks at a file with this path (relative, no leading slash); most rules look at every file.</summary>
    internal Func<string, bool> AppliesTo { get; init; } = static _ => true;
}
