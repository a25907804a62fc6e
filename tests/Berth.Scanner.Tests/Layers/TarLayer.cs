using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Berth.Scanner.Tests.Layers;

/// <summary>A hand-made image layer (a tar of entries of any type), and its diff id.</summary>
internal sealed class TarLayer
{
    private readonly List<PaxTarEntry> _entries = [];

    public TarLayer File(string path, string content) => File(path, Encoding.UTF8.GetBytes(content));

    public TarLayer File(string path, byte[] content) =>
        Add(new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = new MemoryStream(content) });

    public TarLayer Symlink(string path, string target) => Add(new PaxTarEntry(TarEntryType.SymbolicLink, path) { LinkName = target });

    public TarLayer HardLink(string path, string target) => Add(new PaxTarEntry(TarEntryType.HardLink, path) { LinkName = target });

    public TarLayer Directory(string path) => Add(new PaxTarEntry(TarEntryType.Directory, path.TrimEnd('/') + "/"));

    public TarLayer Fifo(string path) => Add(new PaxTarEntry(TarEntryType.Fifo, path));

    public TarLayer CharDevice(string path, int major, int minor) =>
        Add(new PaxTarEntry(TarEntryType.CharacterDevice, path) { DeviceMajor = major, DeviceMinor = minor });

    /// <summary>An AUFS-style whiteout (<c>dir/.wh.name</c>), as a saved image carries it.</summary>
    public TarLayer Whiteout(string path)
    {
        var slash = path.LastIndexOf('/');
        return File(slash < 0 ? $".wh.{path}" : $"{path[..slash]}/.wh.{path[(slash + 1)..]}", "");
    }

    public TarLayer Opaque(string directory) => File($"{directory}/.wh..wh..opq", "");

    private TarLayer Add(PaxTarEntry entry)
    {
        entry.ModificationTime = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero); // the same entries give the same tar, and diff id
        _entries.Add(entry);
        return this;
    }

    public byte[] Tar()
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in _entries)
            {
                entry.DataStream?.Seek(0, SeekOrigin.Begin);
                writer.WriteEntry(entry);
            }
        }
        return tar.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(data);
        }
        return gz.ToArray();
    }

    /// <summary>The diff id of a layer: the sha256 of its uncompressed tar.</summary>
    public static string DiffId(byte[] tar) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
}

/// <summary>A saved image (<c>docker save</c> layout): one <c>&lt;n&gt;/layer.tar</c> per layer, a config with the diff ids, manifest.json.</summary>
internal static class SavedImage
{
    public static MemoryStream Of(params TarLayer[] layers) => Of(layers.Select(l => l.Tar()).ToArray());

    public static MemoryStream Of(params byte[][] tars)
    {
        var names = tars.Select((_, i) => $"{i:D3}/layer.tar").ToArray();
        var config = JsonSerializer.SerializeToUtf8Bytes(new { rootfs = new { type = "layers", diff_ids = tars.Select(TarLayer.DiffId).ToArray() } });
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new[] { new { Config = "config.json", Layers = names } });
        var entries = names.Zip(tars).Append(("config.json", config)).Append(("manifest.json", manifest));
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }
        stream.Position = 0;
        return stream;
    }

    public static byte[] Bytes(params TarLayer[] layers) => Of(layers).ToArray();
}
