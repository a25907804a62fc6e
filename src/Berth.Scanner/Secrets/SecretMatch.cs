namespace Berth.Scanner.Secrets;

/// <summary>
/// One secret found in one file. <see cref="Line"/> is 1-based (for a PEM block, the line of its
/// <c>-----BEGIN</c>). <see cref="Masked"/> keeps at most the first four characters of the secret,
/// then <c>*****</c>: the raw value is never part of a match.
/// </summary>
public sealed record SecretMatch(string RuleId, string Title, string Severity, int Line, string Masked);
