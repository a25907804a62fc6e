using Berth.Server.Dockerfiles;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;

namespace Berth.Server.IntegrationTests.Builds;

/// <summary>
/// Dockerfiles that try to make the engine fetch something for them (a URL, a registry, another owner's image).
/// Each is refused by lint, naming the line, and a loopback tripwire proves nothing was contacted.
/// </summary>
[Collection(BerthCollection.Name)]
public sealed class FetchAttackTests(BerthFixture fixture)
{
    private BerthApi Api => fixture.Api;

    public static TheoryData<string, string, int> Attacks => new()
    {
        { "remote ADD", "FROM busybox:latest\nADD http://{0}/healthz /p\nRUN cat /p\n", 2 },
        { "remote ADD in exec form", "FROM busybox:latest\nADD [\"http://{0}/x\", \"/p\"]\n", 2 },
        { "ADD --checksum", "FROM busybox:latest\nADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 http://{0}/x /p\n", 2 },
        { "git URL", "FROM busybox:latest\nADD git@{0}:x/y.git /p\n", 2 },
        { "COPY --from a registry image", "FROM busybox:latest\nCOPY --from={0}/evil:1 /x /y\n", 2 },
        { "RUN --mount from a registry image", "FROM busybox:latest\nRUN --mount=type=bind,from={0}/evil:1,target=/m cat /m/x\n", 2 },
        { "FROM a loopback registry", "FROM {0}/evil:1\n", 1 },
        { "FROM through ${I:+…}", "ARG I=1\nFROM ${I:+{0}/evil:1}\n", 2 },
        { "FROM through ${I:-…}", "FROM ${I:-{0}/evil:1}\n", 1 },
        { "FROM through a quoted ARG", "ARG I=\"{0}/evil:1\"\nFROM $I\n", 2 },
        { "ONBUILD in the Dockerfile", "FROM busybox:latest AS a\nONBUILD ADD http://{0}/x /p\nFROM a\n", 2 },
        { "heredoc that smuggles a FROM", "FROM busybox:latest\nRUN <<EOF\necho hi \\\nEOF\nFROM {0}/evil AS EOF\n", 2 },
        { "syntax directive", "# syntax={0}/frontend:1\nFROM busybox:latest\n", 1 },
    };

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task Dockerfile_ThatWouldFetch_IsLintRejectedAndNothingIsContacted(string attack, string template, int line)
    {
        using var tripwire = new Tripwire();
        var dockerfile = template.Replace("{0}", tripwire.Address, StringComparison.Ordinal)
            + "CMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n";

        var job = await Api.RunAsync(dockerfile);

        Assert.True(job.Status == JobStatus.Failed, $"{attack}: expected a failed job, got {job.Status}");
        Assert.Equal(FailureReasons.LintRejected, job.Failure?.Reason);
        Assert.Contains(job.Lint, f => f.Severity == LintSeverity.Error && f.Line == line);
        Assert.Contains($"line {line}", job.Failure!.Message, StringComparison.Ordinal);
        Assert.Equal("skipped", job.Stages.Single(s => s.Name == "build").Status.ToString().ToLowerInvariant());
        await Task.Delay(200);
        Assert.Equal(0, tripwire.Contacts);
    }

    [Fact]
    public async Task AddOfAnArchiveInTheContext_IsRefused_CopyIsNot()
    {
        var inner = BerthApi.TarGz(("big.bin", new string('x', 1000)));
        foreach (var (instruction, expected) in new[] { ("ADD data.tar.gz /d/", JobStatus.Failed), ("ADD *.gz /d/", JobStatus.Failed), ("COPY data.tar.gz /d/", JobStatus.Succeeded) })
        {
            using var form = new MultipartFormDataContent
            {
                { new StringContent($"FROM busybox:latest\n{instruction}\nCMD [\"sh\", \"-c\", \"echo '{{\\\"perf\\\": 1}}' > /data/perf.json\"]\n"), "dockerfile" },
                { new StreamContent(BerthApi.TarGzBytes(("data.tar.gz", inner.ToArray()))), "context", "context.tar.gz" },
            };
            using var response = await Api.Client.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), form);
            var job = await Api.WaitTerminalAsync((await BerthApi.AcceptedAsync(response)).Id);

            Assert.True(job.Status == expected, $"{instruction}: {job.Status} {job.Failure?.Message}");
            if (expected == JobStatus.Failed)
            {
                Assert.Equal(FailureReasons.LintRejected, job.Failure?.Reason);
                Assert.Contains("data.tar.gz", job.Failure!.Message, StringComparison.Ordinal);
            }
            Assert.False(File.Exists(Path.Combine(fixture.Server.DataRoot, "jobs", job.Id, "context.tar")), "the stored context outlived the job");
        }
    }
}
