using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Berth.Scanner.Json;

namespace Berth.Scanner.Layers;

/// <summary>
/// Reads a saved image (the tar of <c>docker save</c> / <c>GET /images/{name}/get</c>) as a stream: each
/// layer is read once into a <see cref="LayerIndex"/> (only what a scan wants is kept), and at the end the
/// indexes are put in manifest order and named by their diff ids. Nothing is written to disk and no link
/// is followed.
/// </summary>
public static class SavedImageReader
{
    /// <summary>Layer indexes bottom to top, named by diff id when the image config gives them; with <paramref name="secrets"/>, every layer's files are searched for secrets.</summary>
    public static async Task<IReadOnlyList<LayerIndex>> ReadLayersAsync(Stream savedImage, ScanBudget budget, CancellationToken cancellationToken, bool secrets = false)
    {
        var layers = new Dictionary<string, LayerIndex>(StringComparer.Ordinal);
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
                var layer = await TryReadLayerAsync(name, entry.DataStream, budget, secrets, cancellationToken);
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
        var (order, diffIds) = LayerOrder(jsonFiles, layers);
        var ordered = new List<LayerIndex>();
        for (var i = 0; i < order.Count; i++)
        {
            if (layers.TryGetValue(order[i], out var layer))
            {
                layer.Layer = i < diffIds.Count && diffIds[i].Length > 0 ? diffIds[i] : order[i];
                ordered.Add(layer);
            }
        }
        return ordered;
    }

    /// <summary>The merged wanted files of a saved image, with the default limits.</summary>
    public static async Task<ImageFiles> ReadAsync(Stream savedImage, CancellationToken cancellationToken) =>
        LayerMerger.Merge(await ReadLayersAsync(savedImage, new ScanBudget(ScanLimits.Default), cancellationToken)).Files;

    /// <summary>Layer entry names in order (from manifest.json), and their diff ids (from the image config).</summary>
    private static (List<string> Order, List<string> DiffIds) LayerOrder(Dictionary<string, byte[]> jsonFiles, Dictionary<string, LayerIndex> layers)
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

    private static async Task<LayerIndex?> TryReadLayerAsync(string name, Stream data, ScanBudget budget, bool secrets, CancellationToken cancellationToken)
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

        var collector = new LayerCollector(new LayerIndex { Layer = name, SecretsScanned = secrets }, budget, secrets);
        using var tar = new TarReader(payload, leaveOpen: true);
        while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
        {
            var kind = entry.EntryType switch
            {
                TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => EntryKind.File,
                TarEntryType.Directory => EntryKind.Directory,
                TarEntryType.SymbolicLink => EntryKind.SymbolicLink,
                TarEntryType.HardLink => EntryKind.HardLink,
                _ => EntryKind.Other,
            };
            var content = entry.DataStream ?? (kind == EntryKind.File && entry.Length == 0 ? Stream.Null : null);
            const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            await collector.AddAsync(Normalize(entry.Name), kind == EntryKind.File && content is null ? EntryKind.Other : kind,
                entry.Length, () => content!, cancellationToken, executable: (entry.Mode & anyExecute) != 0);
        }
        return collector.Index;
    }

    internal static string Normalize(string name)
    {
        var path = name; // a backslash is part of a Linux file name, never a separator
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
