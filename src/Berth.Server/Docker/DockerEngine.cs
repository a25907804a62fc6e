using System.Net;
using Berth.Scanner.Layers;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.Server.Docker;

/// <summary>The Docker Engine API behind <see cref="IContainerEngine"/>: Docker.DotNet, plus <see cref="EngineBuildClient"/> for builds.</summary>
public sealed class DockerEngine(IDockerClient client, EngineBuildClient builder) : IContainerEngine, IDisposable
{
    public Task PingAsync(CancellationToken cancellationToken) => Call(() => client.System.PingAsync(cancellationToken));

    public Task<EngineInfo> InfoAsync(CancellationToken cancellationToken) => Call(async () =>
    {
        var info = await client.System.GetSystemInfoAsync(cancellationToken);
        return new EngineInfo(info.DockerRootDir,
            info.Runtimes?.ToDictionary(r => r.Key, r => (string?)r.Value?.Path, StringComparer.Ordinal) ?? new Dictionary<string, string?>());
    });

    public Task BuildAsync(Stream context, IReadOnlyDictionary<string, string?> parameters, Action<BuildMessage> onMessage, CancellationToken cancellationToken) =>
        Call(() => builder.BuildAsync(context, parameters, onMessage, cancellationToken));

    public Task<EngineImage?> InspectImageAsync(string reference, CancellationToken cancellationToken) => Call(async () =>
    {
        try
        {
            var image = await client.Images.InspectImageAsync(reference, cancellationToken);
            return (EngineImage?)new EngineImage(image.ID, null, Utc(image.Created ?? default), image.Size, image.RepoTags?.ToList() ?? [],
                ReadOnly(image.Config?.Labels))
            {
                Volumes = image.Config?.Volumes?.Keys.ToList() ?? [],
                OnBuild = image.Config?.OnBuild?.ToList() ?? [],
                Healthcheck = image.Config?.Healthcheck?.Test is { Count: > 0 } test && test[0] != "NONE" ? test.ToList() : [],
                Layers = image.RootFS?.Layers?.ToList() ?? [],
                GraphDriver = image.GraphDriver?.Name,
                GraphDriverData = image.GraphDriver?.Data is { } data ? ReadOnly(data) : null,
            };
        }
        catch (DockerImageNotFoundException)
        {
            return null;
        }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            return null; // a malformed reference names no image
        }
    });

    public Task<IReadOnlyList<EngineImage>> ListImagesAsync(string label, bool danglingOnly, CancellationToken cancellationToken) => Call(async () =>
    {
        var filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [label] = true } };
        if (danglingOnly)
        {
            filters["dangling"] = new Dictionary<string, bool> { ["true"] = true };
        }
        var images = await client.Images.ListImagesAsync(new ImagesListParameters { All = !danglingOnly, Filters = filters }, cancellationToken);
        return (IReadOnlyList<EngineImage>)images
            .Select(i => new EngineImage(i.ID, i.ParentID, Utc(i.Created), i.Size, i.RepoTags?.ToList() ?? [], ReadOnly(i.Labels)))
            .ToList();
    });

    public Task<IReadOnlyList<string>> ListImageTagsAsync(string pattern, CancellationToken cancellationToken) => Call(async () =>
    {
        var images = await client.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["reference"] = new Dictionary<string, bool> { [pattern] = true } },
        }, cancellationToken);
        return (IReadOnlyList<string>)images.SelectMany(i => i.RepoTags ?? []).ToList();
    });

    public Task TagImageAsync(string image, string repository, CancellationToken cancellationToken) =>
        Call(() => client.Images.TagImageAsync(image, new ImageTagParameters { RepositoryName = repository, Tag = "latest" }, cancellationToken));

    public Task<Stream> SaveImageAsync(string image, CancellationToken cancellationToken) =>
        Call(async () => (Stream)new EndTolerantStream(await client.Images.SaveImageAsync(image, cancellationToken)));

    /// <remarks>
    /// Do not prune while another build may run: an untagged parent can be the build cache a running build just hit,
    /// which holds no container, so the engine would remove it under that build ("failed to get digest"); unpruned
    /// parents become dangling layers the janitor sweeps.
    /// </remarks>
    public Task<bool> RemoveImageAsync(string reference, bool prune, CancellationToken cancellationToken) => Call(async () =>
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
    });

    public Task<string> CreateContainerAsync(CreateContainerParameters spec, CancellationToken cancellationToken) =>
        Call(async () => (await client.Containers.CreateContainerAsync(spec, cancellationToken)).ID);

    public Task StartContainerAsync(string id, CancellationToken cancellationToken) =>
        Call(() => client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken));

    public Task WaitContainerAsync(string id, CancellationToken cancellationToken) =>
        Call(() => client.Containers.WaitContainerAsync(id, cancellationToken));

    public Task<EngineContainer?> InspectContainerAsync(string id, CancellationToken cancellationToken) => Call(async () =>
    {
        try
        {
            var container = await client.Containers.InspectContainerAsync(id, cancellationToken);
            return (EngineContainer?)new EngineContainer(container.ID, ReadOnly(container.Config?.Labels))
            {
                Running = container.State?.Running ?? false,
                ExitCode = container.State?.ExitCode ?? 0,
                OomKilled = container.State?.OOMKilled ?? false,
                UpperDir = container.GraphDriver?.Data is { } data && data.TryGetValue("UpperDir", out var dir) ? dir : null,
            };
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    });

    public Task FollowLogsAsync(string id, Action<ReadOnlyMemory<byte>> onOutput, CancellationToken cancellationToken) => Call(async () =>
    {
        using var stream = await client.Containers.GetContainerLogsAsync(id,
            new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Follow = true }, cancellationToken);
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var result = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            if (result.EOF)
            {
                return;
            }
            onOutput(buffer.AsMemory(0, result.Count));
        }
    });

    public Task KillContainerAsync(string id, CancellationToken cancellationToken) => Call(async () =>
    {
        try
        {
            await client.Containers.KillContainerAsync(id, new ContainerKillParameters { Signal = "SIGKILL" }, cancellationToken);
        }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // already gone or not running
        }
    });

    public Task StopContainerAsync(string id, int graceSeconds, CancellationToken cancellationToken) => Call(async () =>
    {
        try
        {
            await client.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)graceSeconds }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
        }
    });

    public Task RemoveContainerAsync(string id, CancellationToken cancellationToken) => Call(async () =>
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
    });

    public Task<IReadOnlyList<EngineContainer>> ListContainersAsync(IReadOnlyList<string> labels, CancellationToken cancellationToken) => Call(async () =>
    {
        var containers = await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels.ToDictionary(f => f, _ => true) },
        }, cancellationToken);
        return (IReadOnlyList<EngineContainer>)containers
            .Select(c => new EngineContainer(c.ID, ReadOnly(c.Labels)) { Running = c.State == "running" })
            .ToList();
    });

    public void Dispose() => client.Dispose();

    /// <summary>The engine went away or answered with an error (e.g. dockerd restarted under the call).</summary>
    internal static bool IsEngineFailure(Exception e) =>
        e is DockerApiException or HttpRequestException or System.Net.Sockets.SocketException or TimeoutException
        || (e is IOException && e.GetType().Namespace?.StartsWith("System.Net", StringComparison.Ordinal) == true)
        || (e.InnerException is { } inner && IsEngineFailure(inner));

    private static async Task Call(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not EngineBuildException && IsEngineFailure(e))
        {
            throw new EngineException(e.Message, e);
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not EngineBuildException && IsEngineFailure(e))
        {
            throw new EngineException(e.Message, e);
        }
    }

    private static DateTimeOffset Utc(DateTime created) => new(DateTime.SpecifyKind(created, DateTimeKind.Utc));

    private static Dictionary<string, string> ReadOnly(IDictionary<string, string>? values) =>
        values is null ? new(StringComparer.Ordinal) : new(values, StringComparer.Ordinal);
}
