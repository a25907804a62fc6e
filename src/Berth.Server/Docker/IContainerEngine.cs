using Docker.DotNet.Models;

namespace Berth.Server.Docker;

/// <summary>
/// The engine calls Berth makes, and nothing more: the seam between the pipeline and Docker. <see cref="DockerEngine"/>
/// is the real one; tests use a small in-memory fake. Every failure to reach the engine, or an error it answers with
/// that the call does not expect, is an <see cref="EngineException"/>. Specs come from <see cref="HardeningProfile"/>.
/// </summary>
public interface IContainerEngine
{
    Task PingAsync(CancellationToken cancellationToken);

    Task<EngineInfo> InfoAsync(CancellationToken cancellationToken);

    /// <summary><c>POST /build</c>; <paramref name="onMessage"/> sees every line of progress in order. Canceling aborts the build.</summary>
    Task BuildAsync(Stream context, IReadOnlyDictionary<string, string?> parameters, Action<BuildMessage> onMessage, CancellationToken cancellationToken);

    /// <summary>The image, or null when the engine does not have it. Never contacts a registry.</summary>
    Task<EngineImage?> InspectImageAsync(string reference, CancellationToken cancellationToken);

    /// <summary>Every image carrying the label <paramref name="label"/> (<c>key=value</c>); intermediate ones too unless <paramref name="danglingOnly"/>.</summary>
    Task<IReadOnlyList<EngineImage>> ListImagesAsync(string label, bool danglingOnly, CancellationToken cancellationToken);

    /// <summary>Every tag matching the reference filter <paramref name="pattern"/>.</summary>
    Task<IReadOnlyList<string>> ListImageTagsAsync(string pattern, CancellationToken cancellationToken);

    /// <summary>Gives the image <paramref name="image"/> (an id) the tag <paramref name="repository"/>:latest as well.</summary>
    Task TagImageAsync(string image, string repository, CancellationToken cancellationToken);

    /// <summary>The saved-image tar (<c>GET /images/{name}/get</c>), streamed.</summary>
    Task<Stream> SaveImageAsync(string image, CancellationToken cancellationToken);

    /// <summary>
    /// Removes a tag (and the image when no other tag holds it; with <paramref name="prune"/>, its untagged parents
    /// too). False when it is gone already or still in use (a container, a child image).
    /// </summary>
    Task<bool> RemoveImageAsync(string reference, bool prune, CancellationToken cancellationToken);

    Task<string> CreateContainerAsync(CreateContainerParameters spec, CancellationToken cancellationToken);

    Task StartContainerAsync(string id, CancellationToken cancellationToken);

    /// <summary>Returns when the container has exited.</summary>
    Task WaitContainerAsync(string id, CancellationToken cancellationToken);

    /// <summary>The container, or null when the engine does not have it.</summary>
    Task<EngineContainer?> InspectContainerAsync(string id, CancellationToken cancellationToken);

    /// <summary>stdout and stderr, as written, until the container exits.</summary>
    Task FollowLogsAsync(string id, Action<ReadOnlyMemory<byte>> onOutput, CancellationToken cancellationToken);

    /// <summary>SIGKILL; nothing when it is gone or not running.</summary>
    Task KillContainerAsync(string id, CancellationToken cancellationToken);

    /// <summary>SIGTERM, then SIGKILL after <paramref name="graceSeconds"/>.</summary>
    Task StopContainerAsync(string id, int graceSeconds, CancellationToken cancellationToken);

    /// <summary>Removes the container, forcibly, with its anonymous volumes; nothing when it is gone.</summary>
    Task RemoveContainerAsync(string id, CancellationToken cancellationToken);

    /// <summary>Every container (any state) carrying all of <paramref name="labels"/> (<c>key</c> or <c>key=value</c>).</summary>
    Task<IReadOnlyList<EngineContainer>> ListContainersAsync(IReadOnlyList<string> labels, CancellationToken cancellationToken);
}

/// <summary>The engine's data root on its host (<c>DockerRootDir</c>) and its OCI runtimes (name → executable, as configured).</summary>
public sealed record EngineInfo(string? RootDirectory, IReadOnlyDictionary<string, string?> Runtimes);

/// <summary>One line of a build's progress stream.</summary>
public sealed record BuildMessage(string? Stream, string? Status, string? Error);

/// <summary>What Berth reads of an image. <see cref="Created"/> is UTC; <see cref="Size"/> includes its parents.</summary>
public sealed record EngineImage(
    string Id,
    string? ParentId,
    DateTimeOffset Created,
    long Size,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> Labels)
{
    public IReadOnlyList<string> Volumes { get; init; } = [];

    public IReadOnlyList<string> OnBuild { get; init; } = [];

    /// <summary>The image's health check command, empty when it has none (or <c>NONE</c>).</summary>
    public IReadOnlyList<string> Healthcheck { get; init; } = [];

    /// <summary>Diff ids of its layers, base first.</summary>
    public IReadOnlyList<string> Layers { get; init; } = [];

    public string? GraphDriver { get; init; }

    public IReadOnlyDictionary<string, string>? GraphDriverData { get; init; }
}

/// <summary>What Berth reads of a container; <see cref="UpperDir"/> is overlay2's writable layer on the engine's host.</summary>
public sealed record EngineContainer(string Id, IReadOnlyDictionary<string, string> Labels)
{
    public bool Running { get; init; }

    public long ExitCode { get; init; }

    public bool OomKilled { get; init; }

    public string? UpperDir { get; init; }
}

/// <summary>The engine could not be reached, or answered a call with an error the call does not expect.</summary>
public sealed class EngineException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The engine refused a build request outright (bad parameters, unreadable context).</summary>
public sealed class EngineBuildException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}
