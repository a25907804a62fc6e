using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.Server.IntegrationTests.Infrastructure;

/// <summary>Direct engine access, to check what Berth left behind: the machine's main engine unless told otherwise.</summary>
public sealed class Docker(Uri endpoint) : IDisposable
{
    /// <summary>The machine's main engine, shared by the suite's servers.</summary>
    public static readonly Uri MainEndpoint = new("unix:///var/run/docker.sock");

    private readonly IDockerClient _client = new DockerClientBuilder().WithEndpoint(endpoint).Build();

    public Docker()
        : this(MainEndpoint)
    {
    }

    public Task PingAsync(CancellationToken cancellationToken) => _client.System.PingAsync(cancellationToken);

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

    /// <summary>The executable the daemon runs for gVisor (its registered <c>runsc</c> runtime).</summary>
    public async Task<string> RunscPathAsync() =>
        (await _client.System.GetSystemInfoAsync()).Runtimes["runsc"].Path ?? throw new InvalidOperationException("the engine reports no path for runsc");

    /// <summary>Builds a test base image (the test's own, with the classic builder and no network) and tags it.</summary>
    public async Task BuildImageAsync(string tag, string dockerfile)
    {
        var tar = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(tar, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "Dockerfile")
            {
                DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(dockerfile)),
            });
        }
        tar.Position = 0;
        var errors = new List<string>();
        await _client.Images.BuildImageFromDockerfileAsync(
            new ImageBuildParameters { Tags = [tag], NetworkMode = "none", Remove = true, ForceRemove = true },
            tar, [], new Dictionary<string, string>(), new Progress<JSONMessage>(m => { if (m.Error is not null) { errors.Add(m.Error.Message); } }));
        Assert.True(errors.Count == 0 && await ImageExistsAsync(tag), $"test image {tag} did not build: {string.Join("; ", errors)}");
    }

    public async Task RemoveImageAsync(string reference)
    {
        try
        {
            await _client.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = true });
        }
        catch (DockerImageNotFoundException)
        {
        }
    }

    /// <summary>Every image (intermediate ones included) labelled with this Berth instance.</summary>
    public async Task<IList<ImagesListResponse>> InstanceImagesAsync(string instance) =>
        await _client.Images.ListImagesAsync(new ImagesListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"berth.instance={instance}"] = true } },
        });

    /// <summary>Removes every job image and build layer of a stopped Berth instance (its retained ones).</summary>
    public async Task RemoveInstanceImagesAsync(string instance)
    {
        var tags = (await AllJobImagesAsync()).Where(t => t.StartsWith($"berth-{instance}/", StringComparison.Ordinal));
        foreach (var tag in tags)
        {
            await RemoveImageAsync(tag);
        }
        foreach (var image in (await InstanceImagesAsync(instance)).OrderByDescending(i => i.Created))
        {
            try
            {
                await _client.Images.DeleteImageAsync(image.ID, new ImageDeleteParameters { Force = true });
            }
            catch (DockerApiException)
            {
                // already pruned with a child
            }
        }
    }

    /// <summary>Untagged leaf layers (no tag, no child) labelled with this Berth instance.</summary>
    public async Task<IList<ImagesListResponse>> DanglingInstanceLayersAsync(string instance) =>
        await _client.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"berth.instance={instance}"] = true },
                ["dangling"] = new Dictionary<string, bool> { ["true"] = true },
            },
        });

    /// <summary>Removes the untagged leaf layers of a stopped Berth instance's builds (their untagged parents go with them).</summary>
    public async Task RemoveDanglingLayersAsync(string instance)
    {
        foreach (var image in await DanglingInstanceLayersAsync(instance))
        {
            try
            {
                await _client.Images.DeleteImageAsync(image.ID, new ImageDeleteParameters());
            }
            catch (DockerApiException)
            {
                // in use by another image: not ours to force
            }
        }
    }

    public async Task<int> VolumeCountAsync() => (await _client.Volumes.ListAsync(CancellationToken.None)).Volumes?.Count ?? 0;

    /// <summary>Copies an image from this engine to <paramref name="target"/> (<c>docker save | docker load</c>): only reads this engine.</summary>
    public async Task CopyImageToAsync(string reference, Docker target)
    {
        var errors = new List<string>();
        await using (var saved = await _client.Images.SaveImageAsync(reference))
        {
            await target._client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, saved,
                new Progress<JSONMessage>(m => { if (m.Error is not null) { errors.Add(m.Error.Message); } }));
        }
        Assert.True(errors.Count == 0 && await target.ImageExistsAsync(reference), $"{reference} was not copied: {string.Join("; ", errors)}");
    }

    /// <summary>Imports a file system tar as the image <paramref name="reference"/> (<c>docker import</c>), with Dockerfile <paramref name="changes"/>.</summary>
    public async Task ImportAsync(Stream rootfs, string reference, IList<string> changes)
    {
        var colon = reference.LastIndexOf(':');
        var errors = new List<string>();
        await _client.Images.CreateImageAsync(
            new ImagesCreateParameters { FromSrc = "-", Repo = reference[..colon], Tag = reference[(colon + 1)..], Changes = changes },
            rootfs, null, new Progress<JSONMessage>(m => { if (m.Error is not null) { errors.Add(m.Error.Message); } }));
        Assert.True(errors.Count == 0 && await ImageExistsAsync(reference), $"{reference} was not imported: {string.Join("; ", errors)}");
    }

    public async Task<ImageInspectResponse> InspectImageAsync(string reference) => await _client.Images.InspectImageAsync(reference);

    public void Dispose() => _client.Dispose();
}
