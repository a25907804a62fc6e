using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.IntegrationTests.Pipeline;

/// <summary>
/// A DataRoot reached through a symbolic link: the kernel records each job's /data mount under the real path, so a
/// mount check comparing path text would miss it and delete through the live mount instead of unmounting it.
/// </summary>
[Collection(BerthCollection.Name)]
public sealed class DataRootLinkTests(BerthFixture fixture)
{
    [Fact]
    public async Task DataRootBehindASymlink_EachJobsDataIsUnmountedAndDeleted()
    {
        var real = TempRoot.Create("linked");
        var link = Path.Combine(Path.GetTempPath(), $"berth-link-{Guid.NewGuid():N}");
        File.CreateSymbolicLink(link, real);
        try
        {
            await using (var server = await BerthProcess.StartAsync(link, BerthFixture.Settings))
            {
                var job = await new BerthApi(server.Client).RunAsync(Busybox("head -c 1000 /dev/zero > /data/kept; echo '{\"perf\": 4}' > /data/perf.json"));

                Assert.Equal(JobStatus.Succeeded, job.Status);
                var jobDir = Path.Combine(real, "jobs", job.Id);
                Assert.True(await EventuallyAsync(() => !File.ReadAllText("/proc/self/mountinfo").Contains(jobDir, StringComparison.Ordinal)),
                    "the job's /data stayed mounted");
                Assert.True(await EventuallyAsync(() => !Directory.Exists(Path.Combine(jobDir, "data")) && !File.Exists(Path.Combine(jobDir, "data.img"))),
                    "the job's /data was not removed");
                Assert.Empty(await fixture.Docker.JobContainersAsync(job.Id));
            }
        }
        finally
        {
            File.Delete(link); // the link only; the real root goes with the suite's other roots
        }
    }
}
