using System.Text.Json;
using Berth.Cli.Http;
using Berth.Cli.Jobs;
using Berth.Cli.Tests.Http;

namespace Berth.Cli.Tests.Jobs;

/// <summary>The two looks of a job on stdout: a Spectre.Console table on a terminal, plain lines otherwise.</summary>
public sealed class JobPrinterTests
{
    private static Berth.Cli.Jobs.JobView Failed() => BerthClient.ParseJob(JsonDocument.Parse(
        FakeEventsServer.Job("failed", ["succeeded", "failed"], ("build_failed", "step 2/3 RUN make: exit code 2"))).RootElement);

    [Fact]
    public async Task WriteJobAsync_Terminal_DrawsAStageTableWithTheFailure()
    {
        var output = new StringWriter();

        await new JobPrinter(output, terminal: true, json: false).WriteJobAsync(Failed());

        var text = System.Text.RegularExpressions.Regex.Replace(output.ToString(), "\x1b\\[[0-9;]*m", ""); // colours, when the console has them
        Assert.Contains("build_failed: step 2/3 RUN make: exit code 2", text, StringComparison.Ordinal);
        Assert.Contains("╭", text, StringComparison.Ordinal); // the rounded table of stages
        Assert.Matches(@"│ build\s+│ failed\s+│\s+2\.0 s │", text);
    }

    [Fact]
    public async Task WriteJobAsync_Plain_WritesAlignedKeyValueLines()
    {
        var output = new StringWriter();

        await new JobPrinter(output, terminal: false, json: false).WriteJobAsync(Failed());

        var lines = output.ToString().Split('\n');
        Assert.Contains("failure      build_failed: step 2/3 RUN make: exit code 2", lines);
        Assert.Contains("stage        build    failed     2.0 s", lines);
        Assert.DoesNotContain("│", output.ToString(), StringComparison.Ordinal);
    }
}
