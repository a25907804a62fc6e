namespace Berth.Cli.Tests;

/// <summary>The help a new user reads: it names the program as they type it (./berth), not after the file it runs from.</summary>
public sealed class HelpTests
{
    [Theory]
    [InlineData(new[] { "--help" }, "berth [command] [options]")]
    [InlineData(new[] { "submit", "--help" }, "berth submit <path> [options]")]
    [InlineData(new[] { "db", "update", "--help" }, "berth db update [options]")]
    public async Task Help_AnyCommand_UsageNamesTheProgramBerth(string[] args, string usage)
    {
        var (exit, output, _) = await Cli.RunAsync(args);

        Assert.Equal(BerthCommands.Pass, exit);
        Assert.Contains(usage, output, StringComparison.Ordinal);
        Assert.DoesNotContain("Berth.Cli", output, StringComparison.Ordinal);
    }
}
