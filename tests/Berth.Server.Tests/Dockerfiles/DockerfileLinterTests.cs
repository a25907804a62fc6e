using Berth.Server.Dockerfiles;

namespace Berth.Server.Tests.Dockerfiles;

public sealed class DockerfileLinterTests
{
    private static IReadOnlyList<LintFinding> Lint(string text) => DockerfileLinter.Lint(DockerfileParser.Parse(text));

    [Theory]
    [InlineData("RUN echo hi\n", "missing-from")]
    [InlineData("# only a comment\n", "missing-from")]
    [InlineData("FROM a:1\nRUN --security=insecure echo hi\n", "run-security-insecure")]
    [InlineData("FROM a:1\nRUN --network=host echo hi\n", "run-network-host")]
    [InlineData("FROM a:1\nBOGUS x\n", "syntax")]
    public void Lint_ForbiddenConstructs_AreErrors(string text, string rule)
    {
        var finding = Assert.Single(Lint(text), f => f.Severity == LintFinding.Error);
        Assert.Equal(rule, finding.Rule);
    }

    [Theory]
    [InlineData("FROM a:1\n", "user-root")]
    [InlineData("FROM a:1\nUSER app\nUSER root\n", "user-root")]
    [InlineData("FROM a\nUSER 1000\n", "base-image-unpinned")]
    [InlineData("FROM a:latest\nUSER 1000\n", "base-image-unpinned")]
    [InlineData("FROM a:1\nUSER 1000\nADD https://example.com/x.tgz /x\n", "add-url")]
    [InlineData("FROM a:1\nUSER 1000\nRUN curl -fsSL https://x.sh | sh\n", "pipe-to-shell")]
    [InlineData("FROM a:1\nUSER 1000\nRUN wget -qO- https://x | bash -s\n", "pipe-to-shell")]
    [InlineData("FROM a:1\nUSER 1000\nENV API_KEY=abc\n", "secret-in-env")]
    [InlineData("FROM a:1\nUSER 1000\nARG DB_PASSWORD\n", "secret-in-env")]
    [InlineData("FROM a:1\nUSER 1000\nEXPOSE 80\n", "expose")]
    [InlineData("FROM a:1\nUSER 1000\nRUN sudo apt-get update\n", "sudo")]
    public void Lint_RiskyConstructs_AreWarnings(string text, string rule)
    {
        var finding = Assert.Single(Lint(text));
        Assert.Equal(rule, finding.Rule);
        Assert.Equal(LintFinding.Warning, finding.Severity);
    }

    [Fact]
    public void Lint_CleanDockerfile_HasNoFindings()
    {
        Assert.Empty(Lint("ARG V=1.36\nFROM busybox:${V} AS base\nFROM base\nUSER 65534\nENV MODE=fast\nRUN echo ok\nCMD [\"sh\"]\n"));
    }

    [Fact]
    public void Lint_Findings_AreOrderedByLine()
    {
        var findings = Lint("FROM a\nEXPOSE 1\nRUN sudo x\n");
        Assert.Equal(findings.OrderBy(f => f.Line).Select(f => f.Line), findings.Select(f => f.Line));
        Assert.Equal(4, findings.Count);
    }
}
