using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Berth.Server.Tests.Api;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Berth.Server.Tests.Pipeline;

/// <summary><c>Berth:Workers=0</c>: the server answers the API and nothing else runs in it.</summary>
public sealed class ApiOnlyTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-api-only-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Start_NoWorkers_RunnerAndJanitorReturnAndAnActiveJobIsNotRecovered()
    {
        string id;
        await using (var first = new BerthApiFactory(new Dictionary<string, string>(), _root))
        {
            using var client = first.CreateClient();
            id = (await new BerthApi(client).SubmitTextAsync("FROM busybox:latest\n")).Id;
            var claimed = await first.Services.GetRequiredService<IJobStore>().ClaimNextAsync(JobStatus.Running, TimeProvider.System.GetUtcNow(), CancellationToken.None);
            Assert.Equal(id, claimed?.Id); // as if a worker had it when the server stopped
        }

        await using var second = new BerthApiFactory(new Dictionary<string, string>(), _root);
        using var again = second.CreateClient();
        var background = second.Services.GetServices<IHostedService>().Where(s => s is JobRunner or JanitorService).Cast<BackgroundService>().ToList();

        Assert.Equal(2, background.Count);
        await Task.WhenAll(background.Select(s => s.ExecuteTask!)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(JobStatus.Running, (await new BerthApi(again).GetAsync(id)).Status); // a worker server would have re-queued it
    }
}
