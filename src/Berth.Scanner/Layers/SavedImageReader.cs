using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Berth.Scanner.Json;

namespace Berth.Scanner.Layers;

/// <summary>
/// Reads a saved image (the tar of <c>docker save</c> / <c>GET /images/{name}/get</c>) as a stream:
/// each layer is read once, only the files <c>wanted</c> accepts are kept in memory, and at the end the
/// layers are applied in manifest order with whiteouts (<c>.wh.name</c>, <c>.wh..wh..opq</c>). Nothing is
/// written to disk and no link is followed.
/// </summary>
public static class SavedImageReader
{
    /// <summary>Files larger than this are never kept (a status database is a few MiB at most).</summary>
    public const long MaxFileBytes = 64L * 1024 * 1024;

    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    private sealed class LayerContent
    {
        public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);
        public List<string> Deleted { get; } = [];
        public List<string> Opaque { get; } = [];
    }

    public static async Task<ImageFiles> ReadAsync(Stream savedImage, Func<string, bool> wanted, CancellationToken cancellationToken)
    {
        var layers = new Dictionary<string, LayerContent>(StringComparer.Ordinal);
        var jsonFiles = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var reader = new TarReader(savedImage, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
            {
                continue;
            }
            var name = Normalize(entry.Name);
            if (name.EndsWith(".json", StringComparison.Ordinal) && entry.Length <= 16 * 1024 * 1024)
            {
                jsonFiles[name] = await ReadAllAsync(entry.DataStream, cancellationToken);
            }
            else if (name.EndsWith("/layer.tar", StringComparison.Ordinal) || name.StartsWith("blobs/", StringComparison.Ordinal))
            {
                var layer = await TryReadLayerAsync(entry.DataStream, wanted, cancellationToken);
                if (layer is not null)
                {
                    layers[name] = layer;
                }
                else if (entry.Length <= 16 * 1024 * 1024)
                {
                    // An OCI blob that is not a layer (config, manifest): keep it for the manifest lookup.
                    jsonFiles[name] = [];
                }
            }
        }
        return Merge(layers, jsonFiles);
    }

    private static ImageFiles Merge(Dictionary<string, LayerContent> layers, Dictionary<string, byte[]> jsonFiles)
    {
        var (order, diffIds) = LayerOrder(jsonFiles, layers);
        var merged = new Dictionary<string, ImageFile>(StringComparer.Ordinal);
        for (var i = 0; i < order.Count; i++)
        {
            if (!layers.TryGetValue(order[i], out var layer))
            {
                continue;
            }
            var layerName = i < diffIds.Count ? diffIds[i] : order[i];
            foreach (var dir in layer.Opaque)
            {
                RemoveUnder(merged, dir);
            }
            foreach (var path in layer.Deleted)
            {
                merged.Remove(path);
                RemoveUnder(merged, path);
            }
            foreach (var (path, content) in layer.Files)
            {
                merged[path] = new ImageFile(path, layerName, content);
            }
        }
        return new ImageFiles(merged);
    }

    /// <summary>Layer entry names in order (from manifest.json), and their diff ids (from the image config).</summary>
    private static (List<string> Order, List<string> DiffIds) LayerOrder(Dictionary<string, byte[]> jsonFiles, Dictionary<string, LayerContent> layers)
    {
        if (jsonFiles.TryGetValue("manifest.json", out var manifestBytes))
        {
            try
            {
                using var manifest = StrictJson.Parse(manifestBytes);
                var first = manifest.RootElement[0];
                var order = first.GetProperty("Layers").EnumerateArray().Select(l => Normalize(l.GetString()!)).ToList();
                var diffIds = new List<string>();
                if (first.TryGetProperty("Config", out var configName)
                    && jsonFiles.TryGetValue(Normalize(configName.GetString()!), out var configBytes) && configBytes.Length > 0)
                {
                    using var config = StrictJson.Parse(configBytes);
                    if (config.RootElement.TryGetProperty("rootfs", out var rootfs) && rootfs.TryGetProperty("diff_ids", out var ids))
                    {
                        diffIds.AddRange(ids.EnumerateArray().Select(d => d.GetString() ?? ""));
                    }
                }
                return (order, diffIds);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
            {
                throw new InvalidDataException($"the saved image has an unreadable manifest.json: {e.Message}", e);
            }
        }
        throw new InvalidDataException($"the saved image has no manifest.json ({layers.Count} layers seen)");
    }

    private static async Task<LayerContent?> TryReadLayerAsync(Stream data, Func<string, bool> wanted, CancellationToken cancellationToken)
    {
        var buffered = new BufferedStream(data, 64 * 1024);
        var head = new byte[512];
        var read = await buffered.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
        Stream payload = new PrefixedStream(head.AsMemory(0, read), buffered);
        if (read >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        {
            payload = new GZipStream(payload, CompressionMode.Decompress);
        }
        else if (read < 512 || !(head[257] == 'u' && head[258] == 's' && head[259] == 't' && head[260] == 'a' && head[261] == 'r'))
        {
            await buffered.CopyToAsync(Stream.Null, cancellationToken);
            return null;
        }

        var layer = new LayerContent();
        using var tar = new TarReader(payload, leaveOpen: true);
        while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
        {
            var path = Normalize(entry.Name);
            var slash = path.LastIndexOf('/');
            var file = path[(slash + 1)..];
            var dir = slash < 0 ? "" : path[..slash];
            if (file == OpaqueMarker)
            {
                layer.Opaque.Add(dir);
                continue;
            }
            if (file.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                var target = file[WhiteoutPrefix.Length..];
                layer.Deleted.Add(dir.Length == 0 ? target : $"{dir}/{target}");
                continue;
            }
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile
                && entry.DataStream is not null && entry.Length <= MaxFileBytes && wanted(path))
            {
                layer.Files[path] = await ReadAllAsync(entry.DataStream, cancellationToken);
            }
            else if (wanted(path))
            {
                // A wanted path replaced by a link, directory or oversized file hides what lower layers had.
                layer.Files.Remove(path);
                layer.Deleted.Add(path);
            }
        }
        return layer;
    }

    private static void RemoveUnder(Dictionary<string, ImageFile> files, string directory)
    {
        var prefix = directory.Length == 0 ? "" : directory + "/";
        foreach (var key in files.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            files.Remove(key);
        }
    }

    internal static string Normalize(string name)
    {
        var path = name.Replace('\\', '/');
        while (path.StartsWith("./", StringComparison.Ordinal))
        {
            path = path[2..];
        }
        return path.TrimStart('/').TrimEnd('/');
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }
}
