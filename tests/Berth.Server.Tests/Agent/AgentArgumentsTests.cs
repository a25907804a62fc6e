using Berth.Server.Agent;

namespace Berth.Server.Tests.Agent;

public sealed class AgentArgumentsTests
{
    private const string Host = "build-host-1";

    [Fact]
    public void Parse_EveryFlag_SettingsAsGiven()
    {
        var parsed = AgentArguments.Parse(
            ["--server", "https://a.example:8443", "--server=http://b.example,http://c.example/prefix", "--token", "t0k3n", "--workers=3",
             "--engine", "tcp://127.0.0.1:2375", "--data-root", "/srv/agent", "--name", "gpu-01"], null, Host);

        var settings = Assert.IsType<AgentSettings>(parsed.Settings);
        Assert.Equal(["https://a.example:8443/", "http://b.example/", "http://c.example/prefix"], settings.Servers.Select(s => s.ToString()));
        Assert.Equal("t0k3n", settings.Token);
        Assert.Equal(3, settings.Workers);
        Assert.Equal("tcp://127.0.0.1:2375", settings.Engine);
        Assert.Equal("/srv/agent", settings.DataRoot);
        Assert.Equal("gpu-01", settings.Name);
    }

    [Fact]
    public void Parse_OnlyServerAndEnvironmentToken_Defaults()
    {
        var settings = AgentArguments.Parse(["--server", "http://api:8080"], "from-env", Host).Settings!;

        Assert.Equal("from-env", settings.Token);
        Assert.Equal(AgentSettings.DefaultWorkers, settings.Workers);
        Assert.Equal(AgentSettings.DefaultEngine, settings.Engine);
        Assert.Equal(AgentSettings.DefaultDataRoot, settings.DataRoot);
        Assert.Equal(Host, settings.Name);
    }

    [Fact]
    public void Parse_TokenFlagAndEnvironment_TheFlagWins()
    {
        Assert.Equal("flag", AgentArguments.Parse(["--server", "http://api", "--token", "flag"], "env", Host).Settings!.Token);
    }

    [Theory]
    [InlineData("--token t", "--server is required")]
    [InlineData("--server ftp://api --token t", "--server 'ftp://api'")]
    [InlineData("--server http://user:pw@api --token t", "--server 'http://user:pw@api'")]
    [InlineData("--server http://api?x=1 --token t", "--server 'http://api?x=1'")]
    [InlineData("--server http://api", "--token is required")]
    [InlineData("--server http://api --token", "--token needs a value")]
    [InlineData("--server http://api --token t --workers 0", "--workers must be")]
    [InlineData("--server http://api --token t --workers 65", "--workers must be")]
    [InlineData("--server http://api --token t --workers two", "--workers must be")]
    [InlineData("--server http://api --token t --workers 1 --workers 2", "--workers is given more than once")]
    [InlineData("--server http://api --token t --engine docker.sock", "--engine 'docker.sock'")]
    [InlineData("--server http://api --token t --name a/b", "--name 'a/b'")]
    [InlineData("--server http://api --token t --bogus 1", "unknown flag --bogus")]
    [InlineData("--server http://api --token t extra", "unexpected argument 'extra'")]
    public void Parse_BadFlags_AnErrorNamingTheFlag(string args, string error)
    {
        var parsed = AgentArguments.Parse(args.Split(' '), null, Host);

        Assert.Null(parsed.Settings);
        Assert.StartsWith(error, parsed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TokenWithASpace_Refused()
    {
        Assert.StartsWith("--token must be", AgentArguments.Parse(["--server", "http://api", "--token", "a b"], null, Host).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HostNameNotAValidAgentName_AsksForName()
    {
        var parsed = AgentArguments.Parse(["--server", "http://api", "--token", "t"], null, "host with spaces");

        Assert.StartsWith("--name is needed: the host name 'host with spaces'", parsed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_Settings_NeverShowsTheToken()
    {
        var settings = AgentArguments.Parse(["--server", "http://api", "--token", "s3cr3t-value"], null, Host).Settings!;

        Assert.DoesNotContain("s3cr3t-value", settings.ToString(), StringComparison.Ordinal);
        Assert.Contains("http://api/", settings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_BadFlag_Exits2WithTheMessageOnStandardError()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await AgentProgram.RunAsync(["--server", "http://api", "--workers", "0"], output, error, "t", Host, CancellationToken.None);

        Assert.Equal(2, code);
        Assert.StartsWith("berth agent: --workers must be a whole number from 1 to 64, not '0'", error.ToString(), StringComparison.Ordinal);
        Assert.Empty(output.ToString());
    }

    [Fact]
    public async Task RunAsync_Help_Exits0WithTheUsage()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await AgentProgram.RunAsync(["--help"], output, error, null, Host, CancellationToken.None);

        Assert.Equal(0, code);
        Assert.Contains("BERTH_AGENT_TOKEN", output.ToString(), StringComparison.Ordinal);
        Assert.Empty(error.ToString());
    }
}
