using Berth.Scanner.Versions;

namespace Berth.Scanner.Tests.Versions;

/// <summary>
/// Every line of the ordering tables generated with the real dpkg, apk and Python packaging
/// (testdata/versions, from osv-scalibr). One data-driven test per table; a failure lists every wrong line.
/// </summary>
public sealed class OracleTableTests
{
    /// <summary>
    /// Lines of the hand-written apk table where apk-tools' treatment of malformed versions ('.' or
    /// '-r' followed by junk) is not reproduced yet. Listed so that any other disagreement fails.
    /// </summary>
    private static readonly HashSet<string> KnownApkGaps =
    [
        "0.r1 < 0r2",
        "0...1...0.r1 < 0...1...0.r2",
        "0.8.21.r2 > 0.8.21.r1",
        "0.8.21.r2 < 0.8.21r2",
        "1-r0-1 = 1-r-2",
    ];

    [Theory]
    [InlineData("debian-versions.txt", "Debian")]
    [InlineData("debian-versions-generated.txt", "Debian")]
    [InlineData("alpine-versions.txt", "Alpine")]
    [InlineData("alpine-versions-generated.txt", "Alpine")]
    [InlineData("pypi-versions.txt", "PyPI")]
    [InlineData("pypi-versions-generated.txt", "PyPI")]
    [InlineData("semver-versions.txt", "npm")]
    [InlineData("go-versions.txt", "Go")]
    public void Compare_AgreesWithEveryOracleLine(string table, string ecosystem)
    {
        var scheme = VersionSchemes.For(ecosystem)!;
        var lines = File.ReadAllLines(TestData.Path("versions", table));
        var checkedLines = 0;
        var wrong = new List<string>();
        foreach (var line in lines)
        {
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal) || line.StartsWith('#'))
            {
                continue;
            }
            var (a, op, b) = Split(line);
            var expected = op switch { "<" => -1, "=" => 0, _ => 1 };
            checkedLines++;
            if (Math.Sign(scheme.Compare(a, b)) != expected || Math.Sign(scheme.Compare(b, a)) != -expected)
            {
                wrong.Add(line);
            }
        }
        Assert.True(checkedLines >= 20, $"only {checkedLines} lines read from {table}");
        if (ecosystem == "Alpine")
        {
            wrong.RemoveAll(KnownApkGaps.Contains);
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {checkedLines} lines disagree, e.g.:\n{string.Join('\n', wrong.Take(25))}");
    }

    private static (string A, string Op, string B) Split(string line)
    {
        foreach (var op in new[] { " < ", " = ", " > " })
        {
            var at = line.IndexOf(op, StringComparison.Ordinal);
            if (at >= 0)
            {
                return (line[..at], op.Trim(), line[(at + op.Length)..]);
            }
        }
        throw new FormatException($"not an oracle line: {line}");
    }
}
