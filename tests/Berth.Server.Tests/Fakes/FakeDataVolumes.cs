using System.Collections.Concurrent;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;

namespace Berth.Server.Tests.Fakes;

/// <summary>/data as a plain directory: what <see cref="DataVolumes"/> does, without root, loop devices or mount(8).</summary>
public sealed class FakeDataVolumes : IDataVolumes
{
    /// <summary>Every prepare, as (directory, size, uid).</summary>
    public ConcurrentQueue<(string Directory, int SizeMb, int Uid)> Prepared { get; } = new();

    public bool WarmedUp { get; private set; }

    public Task WarmUpAsync(CancellationToken cancellationToken)
    {
        WarmedUp = true;
        return Task.CompletedTask;
    }

    public Task PrepareAsync(JobPaths paths, int sizeMb, int uid, CancellationToken cancellationToken)
    {
        if (Directory.Exists(paths.Data))
        {
            Directory.Delete(paths.Data, recursive: true);
        }
        Directory.CreateDirectory(paths.Data);
        Prepared.Enqueue((paths.Data, sizeMb, uid));
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(JobPaths paths, CancellationToken cancellationToken)
    {
        if (Directory.Exists(paths.Data))
        {
            Directory.Delete(paths.Data, recursive: true);
        }
        return Task.CompletedTask;
    }

    public bool Holds(JobPaths paths) => Directory.Exists(paths.Data);
}
