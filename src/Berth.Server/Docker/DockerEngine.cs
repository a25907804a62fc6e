using System.Net;
using Docker.DotNet;
using Berth.Scanner.Layers;
using Docker.DotNet.Models;

namespace Berth.Server.Docker;

/// <summary>The Engine API calls Berth makes, and nothing more. Specs come from <see cref="HardeningProfile"/>.</summary>
public sealed class DockerEngine(IDockerClient client) : IDisposable
{
    public Task PingAsync(CancellationToken cancellationToken) => client.System.PingAsync(cancellationToken);

    /// <summary>The engine's data root (<c>DockerRootDir</c>), as a path on the engine's host.</summary>
    public async Task<string?> RootDirectoryAsync(CancellationToken cancellationToken) =>
        (await client.System.GetSystemInfoAsync(cancellationToken)).DockerRootDir;

    /// <summary>The OCI runtimes the daemon knows (runc, and runsc when registered).</summary>
    public async Task<IReadOnlyCollection<string>> RuntimesAsync(CancellationToken cancellationToken) =>
        (await client.System.GetSystemInfoAsync(cancellationToken)).Runtimes?.Keys.ToList() ?? [];

    /// <summary>The executable the daemon runs for the runtime <paramref name="name"/>, as configured; null when not registered.</summary>
    public async Task<string?> RuntimePathAsync(string name, CancellationToken cancellationToken) =>
        (await client.System.GetSystemInfoAsync(cancellationToken)).Runtimes?.TryGetValue(name, out var runtime) == true ? runtime.Path : null;

    /// <summary>Whether a container with this id exists (any state).</summary>
    public async Task<bool> ContainerExistsAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await client.Containers.InspectContainerAsync(id, cancellationToken);
            return true;
        }
        catch (DockerContainerNotFoundException)
        {
            return false;
        }
    }

    /// <summary>True when the engine has the image locally. Never contacts a registry.</summary>
    public async Task<bool> ImageExistsAsync(string reference, CancellationToken cancellationToken)
    {
        try
        {
            await client.Images.InspectImageAsync(reference, cancellationToken);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            return false;
        }
    }

    /// <summary>The image's inspect answer (config: volumes, ONBUILD triggers, health check), or null when absent.</summary>
    public async Task<ImageInspectResponse?> InspectImageAsync(string reference, CancellationToken cancellationToken)
    {
        try
        {
            return await client.Images.InspectImageAsync(reference, cancellationToken);
        }
        catch (DockerImageNotFoundException)
        {
            return null;
        }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            return null;
        }
    }

    /// <summary>Every image (intermediate ones included) carrying the label <paramref name="label"/> (<c>key=value</c>).</summary>
    public async Task<IList<ImagesListResponse>> ListLabelledImagesAsync(string label, bool danglingOnly, CancellationToken cancellationToken)
    {
        var filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [label] = true } };
        if (danglingOnly)
        {
            filters["dangling"] = new Dictionary<string, bool> { ["true"] = true };
        }
        return await client.Images.ListImagesAsync(new ImagesListParameters { All = !danglingOnly, Filters = filters }, cancellationToken);
    }

    /// <summary>The host directory holding a container's writable layer (overlay2's <c>UpperDir</c>), or null.</summary>
    public async Task<string?> ContainerUpperDirAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var container = await client.Containers.InspectContainerAsync(id, cancellationToken);
            return container.GraphDriver?.Data is { } data && data.TryGetValue("UpperDir", out var dir) ? dir : null;
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    }

    public async Task<string> ImageIdAsync(string reference, CancellationToken cancellationToken) =>
        (await client.Images.InspectImageAsync(reference, cancellationToken)).ID;

    /// <summary>The saved-image tar (<c>GET /images/{name}/get</c>), streamed.</summary>
    public async Task<Stream> SaveImageAsync(string image, CancellationToken cancellationToken) =>
        new EndTolerantStream(await client.Images.SaveImageAsync(image, cancellationToken));

    public async Task<string> CreateContainerAsync(CreateContainerParameters parameters, CancellationToken cancellationToken) =>
        (await client.Containers.CreateContainerAsync(parameters, cancellationToken)).ID;

    public Task StartContainerAsync(string id, CancellationToken cancellationToken) =>
        client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken);

    public Task<ContainerWaitResponse> WaitContainerAsync(string id, CancellationToken cancellationToken) =>
        client.Containers.WaitContainerAsync(id, cancellationToken);

    public Task<ContainerInspectResponse> InspectContainerAsync(string id, CancellationToken cancellationToken) =>
        client.Containers.InspectContainerAsync(id, cancellationToken);

    /// <summary>stdout and stderr, following until the container exits.</summary>
    public Task<MultiplexedStream> FollowLogsAsync(string id, CancellationToken cancellationToken) =>
        client.Containers.GetContainerLogsAsync(id, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Follow = true }, cancellationToken);

    public async Task KillContainerAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await client.Containers.KillContainerAsync(id, new ContainerKillParameters { Signal = "SIGKILL" }, cancellationToken);
        }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // already gone or not running
        }
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="graceSeconds"/>.</summary>
    public async Task StopContainerAsync(string id, int graceSeconds, CancellationToken cancellationToken)
    {
        try
        {
            await client.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)graceSeconds }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
        }
    }

    /// <summary>Removes (forcibly) every container labelled with the job id. Returns how many.</summary>
    public async Task<int> RemoveJobContainersAsync(string jobId, CancellationToken cancellationToken)
    {
        var removed = 0;
        foreach (var container in await ListLabelledContainersAsync([$"{HardeningProfile.JobLabel}={jobId}"], cancellationToken))
        {
            await RemoveContainerAsync(container.ID, cancellationToken);
            removed++;
        }
        return removed;
    }

    /// <summary>Every job container matching the instance label filter, with the job id.</summary>
    public async Task<IReadOnlyList<(string ContainerId, string JobId)>> ListJobContainersAsync(string instanceFilter, CancellationToken cancellationToken) =>
        (await ListLabelledContainersAsync([HardeningProfile.JobLabel, instanceFilter], cancellationToken))
            .Select(c => (c.ID, c.Labels.TryGetValue(HardeningProfile.JobLabel, out var job) ? job : ""))
            .ToList();

    /// <summary>Every job image tag matching <paramref name="pattern"/> (<c>berth-&lt;instance&gt;/job-*</c>), with its job id.</summary>
    public async Task<IReadOnlyList<(string Reference, string JobId)>> ListJobImagesAsync(string pattern, CancellationToken cancellationToken)
    {
        var images = await client.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["reference"] = new Dictionary<string, bool> { [pattern] = true },
            },
        }, cancellationToken);
        var prefix = pattern.TrimEnd('*');
        return images
            .SelectMany(i => i.RepoTags ?? [])
            .Where(t => t.StartsWith(prefix, StringComparison.Ordinal))
            .Select(t => (Reference: t, JobId: t[prefix.Length..].Split(':')[0]))
            .ToList();
    }

    public async Task RemoveContainerAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // not found, or removal already in progress
        }
    }

    /// <summary>
    /// Removes a tag (and the image when no other tag holds it; with <paramref name="prune"/>, its untagged parents
    /// too). Returns false when it is gone already or still in use (a container, a child image): the janitor tries
    /// again later. Do not prune while another build may run: an untagged parent can be the build cache a running
    /// build just hit, which holds no container, so the engine would remove it under that build ("failed to get
    /// digest"); unpruned parents become dangling layers the janitor sweeps.
    /// </summary>
    public async Task<bool> RemoveImageAsync(string reference, CancellationToken cancellationToken, bool prune = true)
    {
        try
        {
            await client.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = false, NoPrune = !prune }, cancellationToken);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    private async Task<IList<ContainerListResponse>> ListLabelledContainersAsync(IEnumerable<string> labelFilters, CancellationToken cancellationToken) =>
        await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = labelFilters.ToDictionary(f => f, _ => true),
            },
        }, cancellationToken);

    public void Dispose() => client.Dispose();
}
