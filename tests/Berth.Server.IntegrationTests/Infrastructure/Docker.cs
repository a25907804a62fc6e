using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.Server.IntegrationTests.Infrastructure;

/// <summary>Direct engine access, to check what Berth left behind.</summary>
public sealed class Docker : IDisposable
{
    private readonly IDockerClient _client = new DockerClientBuilder().WithEndpoint(new Uri("unix:///var/run/docker.sock")).Build();

    public async Task<IList<ContainerListResponse>> JobContainersAsync(string jobId) =>
        await _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"berth.job={jobId}"] = true } },
        });

    public async Task<IReadOnlyList<string>> AllContainerIdsAsync() =>
        (await _client.Containers.ListContainersAsync(new ContainersListParameters { All = true })).Select(c => c.ID).ToList();

    /// <summary>Every container carrying Berth's job label (any instance).</summary>
    public async Task<IList<ContainerListResponse>> AllJobContainersAsync() =>
        await _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { ["berth.job"] = true } },
        });

    /// <summary>Every Berth job image tag (any instance).</summary>
    public async Task<IReadOnlyList<string>> AllJobImagesAsync() =>
        (await _client.Images.ListImagesAsync(new ImagesListParameters { All = true }))
            .SelectMany(i => i.RepoTags ?? [])
            .Where(t => t.StartsWith("berth-", StringComparison.Ordinal) && t.Contains("/job-", StringComparison.Ordinal))
            .ToList();

    /// <summary>Waits until the job's container exists (the run stage starts before the container does).</summary>
    public async Task WaitForJobContainerAsync(string jobId)
    {
        for (var i = 0; i < 200; i++)
        {
            if ((await JobContainersAsync(jobId)).Count > 0)
            {
                return;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"no container appeared for job {jobId}");
    }

    /// <summary>Whether any Berth instance's image tag for the job (<c>berth-&lt;instance&gt;/job-&lt;id&gt;</c>) exists.</summary>
    public async Task<bool> JobImageExistsAsync(string jobId) =>
        (await _client.Images.ListImagesAsync(new ImagesListParameters { All = true }))
            .SelectMany(i => i.RepoTags ?? [])
            .Any(t => t.StartsWith("berth-", StringComparison.Ordinal) && t.Contains($"/job-{jobId}:", StringComparison.Ordinal));

    /// <summary>
    /// The instance id a Berth with this data root uses on the engine: read from <c>&lt;dataRoot&gt;/instance</c>, which is
    /// created here, as Berth would on its first start, when the root has none yet.
    /// </summary>
    public static string InstanceOf(string dataRoot) => Berth.Server.Configuration.InstanceIdentity.LoadOrCreate(dataRoot).Id;

    public async Task<bool> ImageExistsAsync(string reference)
    {
        try
        {
            await _client.Images.InspectImageAsync(reference);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    /// <summary>A stopped container that looks like one a job left: labelled with the job id.</summary>
    public async Task<string> CreateJobContainerAsync(string jobId, string instance) =>
        (await _client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = "busybox:latest",
            Cmd = ["true"],
            Labels = new Dictionary<string, string> { ["berth.job"] = jobId, ["berth.instance"] = instance },
            HostConfig = new HostConfig { NetworkMode = "none" },
        })).ID;

    public Task RemoveContainerAsync(string id) =>
        _client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });

    public Task TagAsync(string image, string repository) =>
        _client.Images.TagImageAsync(image, new ImageTagParameters { RepositoryName = repository, Tag = "latest" });

    /// <summary>Removes an image tag (the image itself goes when no other tag holds it).</summary>
    public Task RemoveImageAsync(string reference) =>
        _client.Images.DeleteImageAsync(reference, new ImageDeleteParameters());

    /// <summary>The executable the daemon runs for gVisor (its registered <c>runsc</c> runtime).</summary>
    public async Task<string> RunscPathAsync() =>
        (await _client.System.GetSystemInfoAsync()).Runtimes["runsc"].Path ?? throw new InvalidOperationException("the engine reports no path for runsc");

    public void Dispose() => _client.Dispose();
}
