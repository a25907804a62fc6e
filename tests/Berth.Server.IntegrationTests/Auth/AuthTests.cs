using Berth.Server.IntegrationTests.Infrastructure;

namespace Berth.Server.IntegrationTests.Auth;

/// <summary>How a server process refuses to start (keys, root, the loopback rule without keys); owners, roles and rate limits are tested in-process (tests/Berth.Server.Tests/Api).</summary>
[Collection(BerthCollection.Name)]
public sealed class AuthTests
{
    [Fact]
    public async Task NoKeys_ListeningBeyondLoopback_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BerthProcess.StartAsync(TempRoot.Create("open"), new Dictionary<string, string>(), host: "0.0.0.0"));
        Assert.Contains("no API keys are configured (Auth:Keys), so Berth only listens on loopback", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoKeys_KestrelEndpointBeyondLoopback_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => BerthProcess.StartAsync(TempRoot.Create("open2"),
            new Dictionary<string, string> { ["Kestrel:Endpoints:Open:Url"] = "http://0.0.0.0:18099" }));
        Assert.Contains("listens on loopback, but it was asked to listen on http://0.0.0.0:18099", error.Message, StringComparison.Ordinal);
    }

    /// <summary>URLs that read as loopback to a person but make Kestrel listen on every interface.</summary>
    [Theory]
    [InlineData("urls", "http://a@127.0.0.1:18098")]          // Kestrel's host: "a@127.0.0.1" → every interface
    [InlineData("urls", "http://127.0.0.1:18098#")]           // Kestrel's host: "127.0.0.1:18098#", port 80, every interface
    [InlineData("urls", "http://127.0.0.1:18098?x")]
    [InlineData("Kestrel:Endpoints:Trick:Url", "http://a@127.0.0.1:18098")]
    public async Task NoKeys_UrlThatKestrelReadsAsAnotherHost_RefusesToStart(string key, string url)
    {
        // --key=value comes after the --urls BerthProcess passes, so it wins.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BerthProcess.StartAsync(TempRoot.Create("trick"), new Dictionary<string, string> { [key] = url }));
        Assert.Contains($"so Berth only listens on loopback, but it was asked to listen on {url} (user info, a query, a fragment or a path is refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoKeys_UserInfoInUrlsArgument_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BerthProcess.StartAsync(TempRoot.Create("userinfo"), new Dictionary<string, string>(), host: "a@127.0.0.1"));
        Assert.Contains("but it was asked to listen on http://a@127.0.0.1:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotRoot_RefusesToStart()
    {
        var start = new System.Diagnostics.ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet", RepoPaths.Built("Berth.Server"),
                     "--urls", "http://127.0.0.1:0", $"--Berth:DataRoot={TempRoot.Create("nonroot")}" })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["HOME"] = "/tmp";
        start.Environment["DOTNET_CLI_HOME"] = "/tmp";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains("Berth must run as root", await output + await error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_BadHash_RefusesToStart()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            BerthProcess.StartAsync(TempRoot.Create("badkey"), new Dictionary<string, string> { ["Auth:Keys:0:Owner"] = "x", ["Auth:Keys:0:Sha256"] = "plain-key" }));
        Assert.Contains("Auth:Keys:0:Sha256 must be the 64-hex-digit SHA-256", error.Message, StringComparison.Ordinal);
    }
}
