using System.Text.RegularExpressions;

namespace Berth.Server.Dockerfiles.Rules;

/// <summary>Warning: ENV or ARG names that look like secrets end up in the image's history.</summary>
public sealed partial class SecretInEnvRule : ILintRule
{
    [GeneratedRegex(@"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    public string Id => "secret-in-env";

    public IEnumerable<LintFinding> Check(LintContext context)
    {
        foreach (var i in context.All("ENV", "ARG"))
        {
            foreach (var name in Names(i).Where(n => SecretName().IsMatch(n)))
            {
                yield return new LintFinding(Id, i.Line, LintSeverity.Warning, $"{i.Keyword} {name} looks like a secret: values in ENV/ARG are stored in the image");
            }
        }
    }

    private static IEnumerable<string> Names(Instruction i)
    {
        var tokens = i.Arguments.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        // Legacy form "ENV NAME value with spaces": only the first token is a name.
        if (i.Keyword == "ENV" && tokens.Length > 0 && !tokens[0].Contains('=', StringComparison.Ordinal))
        {
            return [tokens[0]];
        }
        return tokens.Where(t => t.Contains('=', StringComparison.Ordinal) || i.Keyword == "ARG").Select(t => t.Split('=')[0]);
    }
}
