using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Berth.Server.Docker;
using Docker.DotNet.Models;

namespace Berth.Server.Tests.Fakes;

/// <summary>
/// An in-memory <see cref="IContainerEngine"/>: images by reference, containers by id, builds and runs that do what a
/// test scripts. <see cref="Down"/> makes every call fail as an unreachable engine does; <see cref="FailOn"/> makes one
/// kind of call fail; <see cref="Hold"/> lets a test keep a call waiting. Every call is recorded in <see cref="Calls"/>.
/// </summary>
public sealed class FakeEngine : IContainerEngine
{
    private readonly ConcurrentDictionary<string, EngineImage> _images = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FakeContainer> _containers = new(StringComparer.Ordinal);
    private int _sequence;

    /// <summary>Every call made, as <c>Method argument</c>, in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    public bool Down { get; set; }

    /// <summary>A method name (e.g. <c>StartContainerAsync</c>) whose calls fail as an engine error.</summary>
    public string? FailOn { get; set; }

    /// <summary>Awaited by every call (given as in <see cref="Calls"/>) after it is recorded: a test holds a call here to act while it waits.</summary>
    public Func<string, CancellationToken, Task>? Hold { get; set; }

    public string? RootDirectory { get; set; }

    public Dictionary<string, string?> Runtimes { get; } = new(StringComparer.Ordinal) { ["runc"] = "runc" };

    /// <summary>What a build does: by default it emits one step and tags the image.</summary>
    public Func<BuildCall, CancellationToken, Task> Build { get; set; } = (build, _) =>
    {
        build.Emit(new BuildMessage("Step 1/1 : FROM busybox\n", null, null));
        build.Tag();
        return Task.CompletedTask;
    };

    /// <summary>What a started container does: by default it writes nothing and exits 0 at once.</summary>
    public Func<FakeContainer, CancellationToken, Task> Run { get; set; } = (container, _) =>
    {
        container.Exit(0);
        return Task.CompletedTask;
    };

    public IReadOnlyCollection<FakeContainer> Containers => _containers.Values.ToList();

    public bool HasImage(string reference) => _images.ContainsKey(reference);

    /// <summary>An untagged layer, as a failed or canceled build leaves one.</summary>
    public EngineImage AddLayer(IReadOnlyDictionary<string, string> labels, DateTimeOffset created)
    {
        var image = new EngineImage(Id($"layer-{Interlocked.Increment(ref _sequence)}"), null, created, 1024, [], labels);
        _images[image.Id] = image;
        return image;
    }

    /// <summary>Puts an image on the engine (a base image the operator loaded).</summary>
    public EngineImage AddImage(string reference, IReadOnlyDictionary<string, string>? labels = null, IReadOnlyList<string>? layers = null, string? id = null)
    {
        var image = new EngineImage(id ?? Id(reference), null, DateTimeOffset.UnixEpoch, 1024, [reference], labels ?? new Dictionary<string, string>())
        {
            Layers = layers ?? [$"sha256:{Id(reference + "/layer")[7..]}"],
        };
        _images[reference] = image;
        _images[image.Id] = image;
        return image;
    }

    public Task PingAsync(CancellationToken cancellationToken) => Enter(nameof(PingAsync), "", cancellationToken);

    public async Task<EngineInfo> InfoAsync(CancellationToken cancellationToken)
    {
        await Enter(nameof(InfoAsync), "", cancellationToken);
        return new EngineInfo(RootDirectory, Runtimes);
    }

    public async Task BuildAsync(Stream context, IReadOnlyDictionary<string, string?> parameters, Action<BuildMessage> onMessage, CancellationToken cancellationToken)
    {
        var tag = parameters.TryGetValue("t", out var t) && t is not null ? t : throw new ArgumentException("a build needs a tag");
        await Enter(nameof(BuildAsync), tag, cancellationToken);
        await Build(new BuildCall(this, tag, parameters, onMessage, await LabelsOfAsync(context, parameters, cancellationToken)), cancellationToken);
    }

    public async Task<EngineImage?> InspectImageAsync(string reference, CancellationToken cancellationToken)
    {
        await Enter(nameof(InspectImageAsync), reference, cancellationToken);
        // The engine reads docker.io/library/busybox:latest (as lint normalizes it) and busybox:latest as one image.
        return _images.GetValueOrDefault(reference) ?? _images.GetValueOrDefault(reference.Replace("docker.io/library/", "", StringComparison.Ordinal));
    }

    public async Task<IReadOnlyList<EngineImage>> ListImagesAsync(string label, bool danglingOnly, CancellationToken cancellationToken)
    {
        await Enter(nameof(ListImagesAsync), label, cancellationToken);
        var (key, value) = Split(label);
        return _images.Values.Distinct()
            .Where(i => i.Labels.TryGetValue(key, out var v) && (value is null || v == value))
            .Where(i => !danglingOnly || !_images.Keys.Any(k => k != i.Id && _images[k] == i))
            .ToList();
    }

    public async Task<IReadOnlyList<string>> ListImageTagsAsync(string pattern, CancellationToken cancellationToken)
    {
        await Enter(nameof(ListImageTagsAsync), pattern, cancellationToken);
        var prefix = pattern.TrimEnd('*');
        return _images.Keys.Where(k => !k.StartsWith("sha256:", StringComparison.Ordinal) && k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
    }

    public async Task TagImageAsync(string image, string repository, CancellationToken cancellationToken)
    {
        await Enter(nameof(TagImageAsync), $"{image} {repository}", cancellationToken);
        _images[repository] = _images.TryGetValue(image, out var found) ? found : throw new EngineException($"No such image: {image}");
    }

    public async Task<Stream> SaveImageAsync(string image, CancellationToken cancellationToken)
    {
        await Enter(nameof(SaveImageAsync), image, cancellationToken);
        throw new EngineException("the fake engine cannot save images");
    }

    public async Task<bool> RemoveImageAsync(string reference, bool prune, CancellationToken cancellationToken)
    {
        await Enter(nameof(RemoveImageAsync), $"{reference} prune={prune}", cancellationToken);
        if (!_images.TryRemove(reference, out var image))
        {
            return false;
        }
        if (!_images.Any(i => i.Key != image.Id && i.Value == image))
        {
            _images.TryRemove(image.Id, out _); // its last tag: the image goes
        }
        return true;
    }

    public async Task<string> CreateContainerAsync(CreateContainerParameters spec, CancellationToken cancellationToken)
    {
        await Enter(nameof(CreateContainerAsync), spec.Name, cancellationToken);
        if (!_images.ContainsKey(spec.Image))
        {
            throw new EngineException($"No such image: {spec.Image}");
        }
        if (_containers.Values.Any(c => c.Spec.Name == spec.Name))
        {
            throw new EngineException($"Conflict. The container name \"/{spec.Name}\" is already in use");
        }
        var container = new FakeContainer(Id($"container-{Interlocked.Increment(ref _sequence)}")[7..], spec);
        _containers[container.Id] = container;
        return container.Id;
    }

    public async Task StartContainerAsync(string id, CancellationToken cancellationToken)
    {
        await Enter(nameof(StartContainerAsync), id, cancellationToken);
        var container = Get(id);
        container.Running = true;
        _ = Task.Run(() => Run(container, container.Stop.Token), CancellationToken.None);
    }

    public async Task WaitContainerAsync(string id, CancellationToken cancellationToken)
    {
        await Enter(nameof(WaitContainerAsync), id, cancellationToken);
        await Get(id).Exited.Task.WaitAsync(cancellationToken);
    }

    public async Task<EngineContainer?> InspectContainerAsync(string id, CancellationToken cancellationToken)
    {
        await Enter(nameof(InspectContainerAsync), id, cancellationToken);
        return _containers.TryGetValue(id, out var c) ? c.View() : null;
    }

    public async Task FollowLogsAsync(string id, Action<ReadOnlyMemory<byte>> onOutput, CancellationToken cancellationToken)
    {
        await Enter(nameof(FollowLogsAsync), id, cancellationToken);
        var container = Get(id);
        await foreach (var chunk in container.Output.Reader.ReadAllAsync(cancellationToken))
        {
            onOutput(chunk);
        }
    }

    public async Task KillContainerAsync(string id, CancellationToken cancellationToken)
    {
        await Enter(nameof(KillContainerAsync), id, cancellationToken);
        if (_containers.TryGetValue(id, out var c) && c.Running)
        {
            c.Exit(137);
        }
    }

    public async Task StopContainerAsync(string id, int graceSeconds, CancellationToken cancellationToken)
    {
        await Enter(nameof(StopContainerAsync), id, cancellationToken);
        if (_containers.TryGetValue(id, out var c) && c.Running)
        {
            c.Exit(143);
        }
    }

    public async Task RemoveContainerAsync(string id, CancellationToken cancellationToken)
    {
        await Enter(nameof(RemoveContainerAsync), id, cancellationToken);
        if (_containers.TryRemove(id, out var c) && c.Running)
        {
            c.Exit(137);
        }
    }

    public async Task<IReadOnlyList<EngineContainer>> ListContainersAsync(IReadOnlyList<string> labels, CancellationToken cancellationToken)
    {
        await Enter(nameof(ListContainersAsync), string.Join(",", labels), cancellationToken);
        return _containers.Values
            .Where(c => labels.All(l => Split(l) is var (key, value) && c.Spec.Labels.TryGetValue(key, out var v) && (value is null || v == value)))
            .Select(c => c.View())
            .ToList();
    }

    /// <summary>A container another party made on the same engine (another Berth, a crashed process of this one).</summary>
    public string AddContainer(IDictionary<string, string> labels, string name)
    {
        var container = new FakeContainer(Id($"container-{Interlocked.Increment(ref _sequence)}")[7..],
            new CreateContainerParameters { Name = name, Labels = labels, Image = "busybox:latest" });
        _containers[container.Id] = container;
        return container.Id;
    }

    private FakeContainer Get(string id) =>
        _containers.TryGetValue(id, out var c) ? c : throw new EngineException($"No such container: {id}");

    private async Task Enter(string method, string argument, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var call = $"{method} {argument}".TrimEnd();
        Calls.Enqueue(call);
        if (Down)
        {
            throw new EngineException("Cannot connect to the Docker daemon (fake engine is down)", new HttpRequestException("connection refused"));
        }
        if (FailOn == method)
        {
            throw new EngineException($"fake engine error in {method}");
        }
        if (Hold is { } hold)
        {
            await hold(call, cancellationToken);
        }
    }

    private static (string Key, string? Value) Split(string label) =>
        label.IndexOf('=', StringComparison.Ordinal) is var i and >= 0 ? (label[..i], label[(i + 1)..]) : (label, null);

    private static string Id(string seed) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(seed)));

    /// <summary>One build in progress: what the script can do.</summary>
    /// <summary>
    /// The labels the engine would give the built image: the Dockerfile's <c>LABEL k=v ...</c> lines (Berth injects its
    /// own after each FROM) and the build's <c>labels</c> parameter.
    /// </summary>
    private static async Task<Dictionary<string, string>> LabelsOfAsync(Stream context, IReadOnlyDictionary<string, string?> parameters, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var tar = new System.Formats.Tar.TarReader(context, leaveOpen: true);
        while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
        {
            if (entry.Name == "Dockerfile" && entry.DataStream is { } data)
            {
                using var reader = new StreamReader(data);
                foreach (var line in (await reader.ReadToEndAsync(cancellationToken)).Split('\n').Where(l => l.StartsWith("LABEL ", StringComparison.Ordinal)))
                {
                    foreach (var pair in line["LABEL ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).Where(p => p.Length == 2))
                    {
                        labels[pair[0]] = pair[1];
                    }
                }
            }
        }
        if (parameters.GetValueOrDefault("labels") is { } json)
        {
            foreach (var (key, value) in System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(json)!)
            {
                labels[key] = value;
            }
        }
        return labels;
    }

    public sealed class BuildCall(FakeEngine engine, string tag, IReadOnlyDictionary<string, string?> parameters, Action<BuildMessage> onMessage,
        IReadOnlyDictionary<string, string> labels)
    {
        public string Reference => tag;

        public IReadOnlyDictionary<string, string?> Parameters => parameters;

        public void Emit(BuildMessage message) => onMessage(message);

        /// <summary>The build succeeded: the engine has the image under its tag.</summary>
        /// <summary>The labels the built image gets.</summary>
        public IReadOnlyDictionary<string, string> Labels => labels;

        public EngineImage Tag(IReadOnlyDictionary<string, string>? extra = null) =>
            engine.AddImage(tag, extra is null ? labels : labels.Concat(extra).GroupBy(l => l.Key).ToDictionary(g => g.Key, g => g.Last().Value));
    }
}

/// <summary>A container of <see cref="FakeEngine"/>.</summary>
public sealed class FakeContainer(string id, CreateContainerParameters spec)
{
    public string Id => id;

    public CreateContainerParameters Spec => spec;

    public bool Running { get; set; }

    public long ExitCode { get; private set; }

    public bool OomKilled { get; set; }

    internal TaskCompletionSource Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal CancellationTokenSource Stop { get; } = new();

    internal System.Threading.Channels.Channel<ReadOnlyMemory<byte>> Output { get; } = System.Threading.Channels.Channel.CreateUnbounded<ReadOnlyMemory<byte>>();

    public void Write(string text) => Output.Writer.TryWrite(Encoding.UTF8.GetBytes(text));

    public void Exit(long code)
    {
        ExitCode = code;
        Running = false;
        Output.Writer.TryComplete();
        Stop.Cancel();
        Exited.TrySetResult();
    }

    internal EngineContainer View() => new(id, new Dictionary<string, string>(spec.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal))
    {
        Running = Running,
        ExitCode = ExitCode,
        OomKilled = OomKilled,
    };
}
