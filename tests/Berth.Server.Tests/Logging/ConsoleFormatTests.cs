using Berth.Server.Agent;
using Berth.Server.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Logging;

public sealed class ConsoleFormatTests
{
    [Theory]
    [InlineData(null, true, "simple")]
    [InlineData(null, false, "json")]
    [InlineData("", true, "simple")]
    [InlineData("auto", true, "simple")]
    [InlineData("auto", false, "json")]
    [InlineData("AUTO", false, "json")]
    [InlineData("json", true, "json")]
    [InlineData("json", false, "json")]
    [InlineData("text", true, "simple")]
    [InlineData("Text", false, "simple")]
    public void FormatterName_SettingAndStdout_ChoosesTheFormatter(string? setting, bool terminal, string expected) =>
        Assert.Equal(expected, ConsoleFormat.FormatterName(setting, terminal));

    [Theory]
    [InlineData("pretty")]
    [InlineData("simple")] // the formatter's own name is not a format
    public void FormatterName_UnknownValue_FailsNamingTheSettingAndTheChoices(string setting)
    {
        var e = Assert.Throws<OptionsValidationException>(() => ConsoleFormat.FormatterName(setting, stdoutIsTerminal: true));

        Assert.Equal($"Logging:Format is '{setting}'; use auto (text in a terminal, JSON otherwise), json or text", Assert.Single(e.Failures));
    }

    [Theory]
    [InlineData("json", false, "json")]
    [InlineData("text", false, "simple")]
    [InlineData(null, true, "simple")]
    public void AddBerthConsole_Setting_ConfiguresTheConsoleLogger(string? setting, bool terminal, string expected)
    {
        using var services = Services(setting, terminal);

        Assert.Equal(expected, services.GetRequiredService<IOptions<ConsoleLoggerOptions>>().Value.FormatterName);
        Assert.True(services.GetRequiredService<IOptions<SimpleConsoleFormatterOptions>>().Value.SingleLine);
    }

    [Fact]
    public void AddBerthConsole_BadValue_FailsBeforeAnythingStarts() =>
        Assert.Throws<OptionsValidationException>(() => Services("yaml", terminal: false));

    [Fact]
    public void AgentConfigure_BadLoggingFormat_FailsWithTheSettingNamed()
    {
        var settings = AgentArguments.Parse(["--server", "http://127.0.0.1:9"], "agent-token", "host").Settings!;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Configuration[ConsoleFormat.Key] = "yaml";

        var e = Assert.Throws<OptionsValidationException>(() => AgentProgram.Configure(builder, settings));

        Assert.StartsWith("Logging:Format is 'yaml'", Assert.Single(e.Failures), StringComparison.Ordinal);
    }

    private static ServiceProvider Services(string? setting, bool terminal)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [ConsoleFormat.Key] = setting })
            .Build();
        return new ServiceCollection().AddLogging(logging => logging.AddBerthConsole(configuration, terminal)).BuildServiceProvider();
    }
}
