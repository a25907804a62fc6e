using System.Text.Json;

namespace Berth.Scanner.Layers;

/// <summary>
/// Layer indexes persisted by diff id (the engine's content digest of the layer), so a layer is read once:
/// a job image on an already-scanned base reads only its own layers. Least recently used entries are removed
/// when the folder grows past <paramref name="maxBytes"/>. Entries of an older <see cref="LayerIndex.FormatVersion"/>
/// are ignored. Thread-safe; a torn or foreign file is a miss, never an error.
/// </summary>
public sealed class LayerCache(string folder, long maxBytes, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new();
    private readonly string _folder = Path.Combine(folder, $"v{LayerIndex.FormatVersion}");
    private readonly Lock _trim = new();
    private long _hits;
    private long _misses;

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public LayerIndex? TryGet(string diffId)
    {
        if (PathFor(diffId) is not { } path)
        {
            return null;
        }
        try
        {
            var index = JsonSerializer.Deserialize<LayerIndex>(File.ReadAllBytes(path), Json);
            if (index is { Format: LayerIndex.FormatVersion } && index.Layer == diffId)
            {
                File.SetLastWriteTimeUtc(path, time.GetUtcNow().UtcDateTime);
                Interlocked.Increment(ref _hits);
                return index;
            }
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
        }
        Interlocked.Increment(ref _misses);
        return null;
    }

    public void Put(LayerIndex index)
    {
        if (!index.Cacheable || PathFor(index.Layer) is not { } path || index.Size > maxBytes / 4)
        {
            return; // not a content digest, or too large to be worth keeping
        }
        try
        {
            Directory.CreateDirectory(_folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var temp = $"{path}.{Guid.NewGuid():N}.tmp";
            File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(index, Json));
            File.SetLastWriteTimeUtc(temp, time.GetUtcNow().UtcDateTime); // recency on the same clock TryGet uses
            File.Move(temp, path, overwrite: true);
            Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A cache that cannot be written only costs speed.
        }
    }

    private void Trim()
    {
        lock (_trim)
        {
            var files = new DirectoryInfo(_folder).GetFiles("*.json").OrderByDescending(f => f.LastWriteTimeUtc).ToList();
            var total = 0L;
            foreach (var file in files)
            {
                total += file.Length;
                if (total > maxBytes)
                {
                    file.Delete();
                }
            }
        }
    }

    /// <summary>Only <c>sha256:&lt;64 hex&gt;</c> names a cache file: nothing else can reach the folder.</summary>
    private string? PathFor(string diffId) =>
        diffId.Length == 71 && diffId.StartsWith("sha256:", StringComparison.Ordinal) && diffId[7..].All(char.IsAsciiHexDigitLower)
            ? Path.Combine(_folder, diffId[7..] + ".json")
            : null;
}
