using Berth.Server.Configuration;
using Berth.Server.IntegrationTests.Infrastructure;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Configuration;

/// <summary>The instance id comes from &lt;DataRoot&gt;/instance, created on the first start and kept across restarts.</summary>
[Collection(BerthCollection.Name)]
public sealed class InstanceIdentityTests(BerthFixture fixture)
{
    [Fact]
    public async Task FirstStart_CreatesTheInstanceFile_AndEveryStartAndJobImageUsesIt()
    {
        var root = TempRoot.Create("identity");
        string id;
        await using (var first = await BerthProcess.StartAsync(root, new Dictionary<string, string> { ["Scan:Enabled"] = "false", ["Build:ImageRetentionSeconds"] = "600" }))
        {
            id = InstanceIdentity.Parse(await File.ReadAllTextAsync(Path.Combine(root, InstanceIdentity.FileName)), root).Id;
            await AssertLoggedAsync(first, id);
            var job = await new BerthApi(first.Client).RunAsync(Busybox("echo '{\"perf\": 1}' > /data/perf.json"));
            Assert.True(await fixture.Docker.ImageExistsAsync($"berth-{id}/job-{job.Id}"));
            await fixture.Docker.RemoveImageAsync($"berth-{id}/job-{job.Id}");
        }

        await using var second = await BerthProcess.StartAsync(root, new Dictionary<string, string>());
        await AssertLoggedAsync(second, id);
    }

    /// <summary>The workers' "ready" line names the instance; it comes after recovery, so wait for it.</summary>
    private static async Task AssertLoggedAsync(BerthProcess server, string id)
    {
        var expected = $"\"Instance\":\"{id}\"";
        for (var i = 0; i < 100 && !server.Log.Replace(" ", "", StringComparison.Ordinal).Contains(expected, StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
        }
        Assert.Contains(expected, server.Log.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedInstanceFile_RefusesToStart_AndLeavesTheFileAlone()
    {
        var root = TempRoot.Create("identity-bad");
        var file = Path.Combine(root, InstanceIdentity.FileName);
        await File.WriteAllTextAsync(file, "1a2b3c4d\n");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => BerthProcess.StartAsync(root, new Dictionary<string, string>()));

        Assert.Contains($"{file} is malformed", error.Message, StringComparison.Ordinal);
        Assert.Equal("1a2b3c4d\n", await File.ReadAllTextAsync(file));
    }
}
