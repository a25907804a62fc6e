using Berth.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Server.Pipeline;

/// <summary>
/// The job containers this instance created: one empty file per container id in <c>&lt;DataRoot&gt;/containers/</c>,
/// recorded before the container starts. The janitor kills a gVisor process only when its container is in this list
/// and gone from the engine, so it never touches another Berth's (or anyone else's) sandboxes. Each entry is its own
/// file, so recording and forgetting never race with each other.
/// </summary>
public sealed class RunscContainers(IOptions<BerthOptions> options)
{
    public const string DirectoryName = "containers";

    private string Root => Path.Combine(options.Value.DataRoot, DirectoryName);

    /// <summary>Records a container of this instance (call after create, before start).</summary>
    public void Record(string containerId)
    {
        Check(containerId);
        Directory.CreateDirectory(Root);
        File.WriteAllBytes(Path.Combine(Root, containerId), []);
    }

    /// <summary>Every recorded container id.</summary>
    public IReadOnlyList<string> List() =>
        Directory.Exists(Root)
            ? Directory.EnumerateFiles(Root).Select(Path.GetFileName).OfType<string>().Where(IsContainerId).ToList()
            : [];

    /// <summary>Drops a container that is gone from the engine and has no process left.</summary>
    public void Forget(string containerId)
    {
        Check(containerId);
        File.Delete(Path.Combine(Root, containerId));
    }

    /// <summary>An engine container id: 64 lowercase hex digits (so never a path).</summary>
    public static bool IsContainerId(string value) => value.Length == 64 && value.All(char.IsAsciiHexDigitLower);

    private static void Check(string containerId)
    {
        if (!IsContainerId(containerId))
        {
            throw new ArgumentException($"not an engine container id: '{containerId}'", nameof(containerId));
        }
    }
}
