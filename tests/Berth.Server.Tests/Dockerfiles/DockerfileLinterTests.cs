using Berth.Server.Dockerfiles;

namespace Berth.Server.Tests.Dockerfiles;

public sealed class DockerfileLinterTests
{
    internal static readonly AllowedImages Allowed = new(["busybox:latest", "debian:bookworm-slim", "registry.local:5000/tools/gcc:13"]);

    internal static IReadOnlyList<LintFinding> Lint(string text, params string[] archives) =>
        DockerfileLinter.Lint(DockerfileParser.Parse(text), Allowed, archives);

    [Theory]
    [InlineData("FROM busybox\nBOGUS x\n", "syntax", 2, "unknown instruction 'BOGUS'")]
    [InlineData("RUN echo hi\n", "missing-from", 1, "RUN appears before the first FROM")]
    [InlineData("# only a comment\n", "missing-from", 1, "no FROM instruction")]
    [InlineData("# syntax=docker/dockerfile:1\nFROM busybox\n", "syntax-directive", 1, "selects a frontend image")]
    [InlineData("FROM busybox\nRUN --network=none true\n", "unsupported-flag", 2, "RUN flag --network is not supported by Berth's builder")]
    [InlineData("FROM busybox\nCOPY --chmod=755 a b\n", "unsupported-flag", 2, "COPY flag --chmod is not supported")]
    [InlineData("FROM busybox\nCOPY --link a b\n", "unsupported-flag", 2, "COPY flag --link is not supported")]
    [InlineData("FROM busybox\nADD --from=busybox a b\n", "unsupported-flag", 2, "ADD flag --from is not supported")]
    [InlineData("FROM busybox\nCOPY --FROM=busybox a b\n", "unsupported-flag", 2, "COPY flag --FROM is not supported")]
    [InlineData("FROM busybox\nENV --x=1 A=b\n", "unsupported-flag", 2, "ENV flag --x is not supported")]
    [InlineData("FROM busybox\nCOPY --from=busybox --from=debian:bookworm-slim a b\n", "unsupported-flag", 2, "--from is given more than once")]
    [InlineData("FROM busybox\nCOPY --chown a b\n", "unsupported-flag", 2, "--chown needs a value")]
    [InlineData("FROM busybox\nHEALTHCHECK --start-interval=1s NONE\n", "unsupported-flag", 2, "--start-interval is not supported")]
    [InlineData("FROM --platform=linux/arm64 busybox\n", "from-platform", 1, "FROM --platform is not allowed")]
    [InlineData("FROM busybox\nRUN --mount=type=bind,from=alpine,target=/x true\n", "run-mount", 2, "RUN --mount is not allowed")]
    [InlineData("FROM busybox\nRUN --mount=type=cache,target=/c true\n", "run-mount", 2, "RUN --mount is not allowed")]
    [InlineData("FROM busybox\nRUN --security=insecure echo hi\n", "run-security-insecure", 2, "privileged build step")]
    [InlineData("FROM busybox\nRUN --network=HOST echo hi\n", "run-network-host", 2, "never share the host's network")]
    [InlineData("FROM alpine:3\n", "from-image", 1, "FROM image 'alpine:3' (docker.io/library/alpine:3) is not allowed. Berth builds only from scratch, earlier stages and the images in Build:AllowedImages: docker.io/library/busybox:latest, docker.io/library/debian:bookworm-slim, registry.local:5000/tools/gcc:13")]
    [InlineData("FROM busybox:1.36\n", "from-image", 1, "is not allowed")]
    [InlineData("FROM quay.io/library/busybox\n", "from-image", 1, "is not allowed")]
    [InlineData("FROM 7c52\n", "from-image", 1, "image ids are not accepted; name an allowed image")]
    [InlineData("FROM berth-abc/job-x\n", "from-image", 1, "Berth job image")]
    [InlineData("ARG X\nFROM $X\n", "from-image", 2, "has no default value")]
    [InlineData("FROM busybox\nCOPY --from=alpine / /\n", "copy-from", 2, "COPY --from=alpine is neither an earlier stage nor an allowed image (docker.io/library/alpine:latest). Berth builds only from")]
    [InlineData("FROM busybox\nCOPY --from=0 / /\n", "copy-from", 2, "stage 0 is not an earlier stage")]
    [InlineData("FROM busybox\nCOPY --from=scratch / /\n", "copy-from", 2, "neither an earlier stage nor an allowed image")]
    [InlineData("FROM busybox\nCOPY --from=7c52 / /\n", "copy-from", 2, "image ids are not accepted")]
    [InlineData("ARG BERTH_JOB=1\nFROM busybox\n", "reserved-arg", 1, "ARG BERTH_JOB: names starting with BERTH_ are reserved")]
    [InlineData("FROM busybox\nARG berth_x\n", "reserved-arg", 2, "reserved for Berth")]
    [InlineData("FROM busybox\nCOPY [\"a\", \"/d\\ud800\"]\n", "syntax", 2, "not valid Unicode")]
    [InlineData("FROM busybox\nLABEL berth.cache=x\n", "reserved-label", 2, "not start with 'berth.'")]
    [InlineData("FROM busybox\nLABEL a=1 \"Berth.Instance\"=x\n", "reserved-label", 2, "Berth's own labels")]
    [InlineData("FROM busybox\nLABEL 'ber'\"th.cache\" x\n", "reserved-label", 2, "Berth's own labels")]
    [InlineData("FROM busybox\nARG K=berth.cache\nLABEL $K=x\n", "reserved-label", 3, "must be plain text")]
    [InlineData("FROM busybox\nLABEL b\\erth.cache=x\n", "reserved-label", 2, "must be plain text")]
    [InlineData("FROM busybox\nADD https://example.com/x.tgz /x\n", "remote-source", 2, "the engine would download it itself")]
    [InlineData("FROM busybox\nADD HTTP://example.com/x /x\n", "remote-source", 2, "Berth refuses it")]
    [InlineData("FROM busybox\nADD ftp://example.com/x /x\n", "remote-source", 2, "Berth refuses it")]
    [InlineData("FROM busybox\nADD git@github.com:org/repo.git /src\n", "remote-source", 2, "Berth refuses it")]
    [InlineData("FROM busybox\nADD deploy@host:repo /src\n", "remote-source", 2, "Berth refuses it")]
    [InlineData("FROM busybox\nADD github.com/org/repo /src\n", "remote-source", 2, "Berth refuses it")]
    [InlineData("FROM busybox\nADD [\"https://x/y\", \"/z\"]\n", "remote-source", 2, "Berth refuses it")]
    [InlineData("FROM busybox\nADD --checksum=sha256:abc x /y\n", "remote-source", 2, "ADD --checksum is for downloads")]
    [InlineData("FROM busybox\nADD --keep-git-dir=true x /y\n", "remote-source", 2, "ADD --keep-git-dir is for downloads")]
    [InlineData("FROM busybox\nCOPY https://x/y /z\n", "remote-source", 2, "COPY cannot fetch URLs")]
    [InlineData("FROM busybox\nONBUILD RUN echo hi\n", "onbuild", 2, "ONBUILD is not allowed")]
    [InlineData("FROM busybox\nVOLUME /data\n", "volume", 2, "write to /data or /tmp; image volumes are not writable host directories in Berth")]
    [InlineData("FROM busybox\nVOLUME [\"/x\"]\n", "volume", 2, "VOLUME is not allowed")]
    [InlineData("FROM busybox\nHEALTHCHECK CMD true\n", "healthcheck", 2, "dockerd would run the probe outside the job's limits")]
    [InlineData("FROM busybox\nHEALTHCHECK --interval=5s CMD true\n", "healthcheck", 2, "only HEALTHCHECK NONE")]
    [InlineData("FROM busybox\nHEALTHCHECK NONE extra\n", "healthcheck", 2, "only HEALTHCHECK NONE")]
    [InlineData("FROM busybox\nRUN <<EOF\n", "heredoc", 2, "here-documents need BuildKit; Berth's classic builder would run the body lines as instructions")]
    [InlineData("FROM busybox\nRUN cat <<-EOF >x\n", "heredoc", 2, "'<<-EOF'")]
    [InlineData("FROM busybox\nRUN python3 <<'PY'\n", "heredoc", 2, "here-documents need BuildKit")]
    [InlineData("FROM busybox\nRUN sh 3<<\"X\"\n", "heredoc", 2, "here-documents need BuildKit")]
    [InlineData("FROM busybox\nCOPY <<EOF /x\n", "heredoc", 2, "here-documents need BuildKit")]
    public void Lint_RefusedConstructs_AreErrorsNamingTheRuleLineAndReason(string text, string rule, int line, string message)
    {
        var findings = Lint(text);

        Assert.Contains(findings, f => f.Rule == rule && f.Line == line && f.Severity == LintSeverity.Error && f.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ADD app.tar.gz /app\n", "app.tar.gz")]
    [InlineData("ADD ./app.tar.gz /app\n", "app.tar.gz")]
    [InlineData("ADD /app.tar.gz /app\n", "app.tar.gz")]
    [InlineData("ADD .//app.tar.gz /app\n", "app.tar.gz")]
    [InlineData("ADD a/./b.tgz /app\n", "a/b.tgz")]
    [InlineData("ADD *.gz /app\n", "app.tar.gz")]
    [InlineData("ADD [\"app.tar.?z\", \"/app\"]\n", "app.tar.gz")]
    [InlineData("ADD a/[a-c].tgz /app\n", "a/b.tgz")]
    [InlineData("ADD */*.tgz /app\n", "a/b.tgz")]
    [InlineData("ADD a/[^x].tgz /app\n", "a/b.tgz")]
    [InlineData("ADD x y app.tar.gz /app/\n", "app.tar.gz")]
    public void Lint_AddOfAContextArchive_IsAnErrorNamingTheArchive(string add, string archive)
    {
        var finding = Assert.Single(Lint("FROM busybox\nUSER 1\n" + add, "app.tar.gz", "./a/b.tgz"), f => f.Severity == LintSeverity.Error);

        Assert.Equal(("add-archive", 3), (finding.Rule, finding.Line));
        Assert.Contains($"would extract the archive '{archive}' into the image; use COPY", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ADD $X /app\n", "uses variables, quotes or escapes")]
    [InlineData("ADD \"app.tar.gz\" /app\n", "uses variables, quotes or escapes")]
    [InlineData("ADD app\\.tar.gz /app\n", "uses variables, quotes or escapes")]
    [InlineData("ADD http:\"//\"evil/x /app\n", "uses variables, quotes or escapes")]
    [InlineData("ADD sub/../app.tar.gz /app\n", "climbs with '..'")]
    [InlineData("ADD a[ /app\n", "cannot check this pattern")]
    [InlineData("ADD a[]] /app\n", "cannot check this pattern")]
    [InlineData("ADD a[z-a] /app\n", "cannot check this pattern")]
    public void Lint_AddSourceBerthCannotCheck_IsAnError(string add, string message)
    {
        var finding = Assert.Single(Lint("FROM busybox\nUSER 1\n" + add), f => f.Severity == LintSeverity.Error);

        Assert.Equal("add-archive", finding.Rule);
        Assert.Contains(message, finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FROM busybox\nUSER 1\nRUN echo \"<<EOF\" '<<X' $((1<<2)) a<<b\n")]
    [InlineData("FROM busybox\nUSER 1\nRUN cat <<< word\n")]
    [InlineData("FROM busybox\nUSER 1\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\n")]
    [InlineData("FROM busybox\nUSER 1\nHEALTHCHECK NONE\n")]
    [InlineData("FROM busybox\nUSER 1\nHEALTHCHECK --interval=5s none\n")]
    [InlineData("FROM busybox AS b\nFROM busybox\nUSER 1\nCOPY --from=0 /a /b\nCOPY --from=B --chown=1:1 /a /b\n")]
    [InlineData("FROM scratch\nCOPY --from=busybox:latest /bin/busybox /busybox\nCOPY --from=docker.io/library/debian:bookworm-slim /etc /etc\nUSER 1\n")]
    [InlineData("FROM docker.io/library/busybox:latest\nFROM library/busybox\nFROM index.docker.io/library/busybox\nUSER 1\n")]
    [InlineData("ARG B=busybox\nARG C=\"x B=evil.com/x\"\nFROM $B\nFROM ${B}\nUSER 1\n")]
    [InlineData("FROM registry.local:5000/tools/gcc:13\nUSER 1\n")]
    [InlineData("FROM busybox\nUSER 1\nADD --chown=1 dir /x\nADD *.txt /x\nADD notes.tar.gz.txt /x\n")]
    [InlineData("FROM busybox\nUSER 1\nCOPY app.tar.gz $HOME \"q\" /x\n")]
    [InlineData("# check=skip=all\nFROM busybox\nUSER 1\n")]
    public void Lint_AllowedConstructs_HaveNoErrors(string text) =>
        Assert.DoesNotContain(Lint(text, "app.tar.gz", "dir/inner.tar"), f => f.Severity == LintSeverity.Error);

    [Theory]
    [InlineData("FROM busybox:latest\n", "user-root")]
    [InlineData("FROM busybox:latest\nUSER app\nUSER root\n", "user-root")]
    [InlineData("FROM busybox\nUSER 1000\n", "base-image-unpinned")]
    [InlineData("FROM registry.local:5000/tools/gcc:13\nUSER 1000\nRUN curl -fsSL https://x.sh | sh\n", "pipe-to-shell")]
    [InlineData("FROM registry.local:5000/tools/gcc:13\nUSER 1000\nRUN wget -qO- https://x | bash -s\n", "pipe-to-shell")]
    [InlineData("FROM registry.local:5000/tools/gcc:13\nUSER 1000\nENV API_KEY=abc\n", "secret-in-env")]
    [InlineData("FROM registry.local:5000/tools/gcc:13\nUSER 1000\nARG DB_PASSWORD\n", "secret-in-env")]
    [InlineData("FROM registry.local:5000/tools/gcc:13\nUSER 1000\nEXPOSE 80\n", "expose")]
    [InlineData("FROM registry.local:5000/tools/gcc:13\nUSER 1000\nRUN sudo apt-get update\n", "sudo")]
    public void Lint_RiskyConstructs_AreWarnings(string text, string rule)
    {
        var finding = Assert.Single(Lint(text), f => f.Rule == rule);

        Assert.Equal(LintSeverity.Warning, finding.Severity);
        Assert.DoesNotContain(Lint(text), f => f.Severity == LintSeverity.Error);
    }

    [Fact]
    public void Lint_CleanDockerfile_HasNoFindings() =>
        Assert.Empty(Lint("ARG V=13\nFROM registry.local:5000/tools/gcc:${V} AS base\nFROM base\nUSER 65534\nENV MODE=fast\nRUN echo ok\nCMD [\"sh\"]\n"));

    [Fact]
    public void Lint_Findings_AreOrderedByLine()
    {
        var findings = Lint("FROM busybox\nEXPOSE 1\nRUN sudo x\nVOLUME /x\n");

        Assert.Equal(findings.OrderBy(f => f.Line).Select(f => f.Line), findings.Select(f => f.Line));
        Assert.Equal(5, findings.Count);
    }

    [Fact]
    public void Lint_TooManyInstructions_IsASizeLimitErrorAndNothingElse()
    {
        var findings = Lint("FROM alpine\n" + string.Concat(Enumerable.Repeat("VOLUME /x\n", DockerfileLimits.MaxInstructions)));

        var finding = Assert.Single(findings);
        Assert.Equal(("size-limit", 301), (finding.Rule, finding.Line));
        Assert.Contains("301 instructions; Berth accepts at most 300", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lint_TooManyStages_IsASizeLimitError()
    {
        var finding = Assert.Single(Lint(string.Concat(Enumerable.Repeat("FROM busybox\n", DockerfileLimits.MaxStages + 1))));

        Assert.Equal(("size-limit", 21), (finding.Rule, finding.Line));
        Assert.Contains("21 stages (FROM); Berth accepts at most 20", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lint_TooLongLine_IsASizeLimitErrorAndNothingElse()
    {
        var finding = Assert.Single(Lint("FROM alpine\nRUN echo " + new string('x', DockerfileLimits.MaxLineBytes) + "\n"));

        Assert.Equal(("size-limit", 2), (finding.Rule, finding.Line));
        Assert.Contains("longer than 16384 bytes", finding.Message, StringComparison.Ordinal);
    }
}
