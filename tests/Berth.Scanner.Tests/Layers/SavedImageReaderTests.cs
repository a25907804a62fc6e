using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Berth.Scanner.Catalogers;
using Berth.Scanner.Layers;

namespace Berth.Scanner.Tests.Layers;

public sealed class SavedImageReaderTests
{
    private static byte[] Layer(bool gzip, params (string Name, string? Content)[] entries)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                writer.WriteEntry(content is null
                    ? new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = "/etc/shadow" }
                    : new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
            }
        }
        if (!gzip)
        {
            return tar.ToArray();
        }
        var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(tar.ToArray());
        }
        return gz.ToArray();
    }

    private static MemoryStream SavedImage(params (string Name, byte[] Content)[] outer)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in outer)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }
        stream.Position = 0;
        return stream;
    }

    private static byte[] Json(object value) => JsonSerializer.SerializeToUtf8Bytes(value);

    [Fact]
    public async Task Read_AppliesLayersInManifestOrderWithWhiteouts()
    {
        var lower = Layer(false,
            ("etc/os-release", "ID=debian\nVERSION_ID=11\n"),
            ("var/lib/dpkg/status", "Package: old\nStatus: install ok installed\nVersion: 1\n"),
            ("usr/lib/python3/site-packages/gone-1.dist-info/METADATA", "Name: gone\nVersion: 1\n"),
            ("opt/app/node_modules/wiped/package.json", "{\"name\":\"wiped\",\"version\":\"1.0.0\"}"),
            ("opt/keep/node_modules/kept/package.json", "{\"name\":\"kept\",\"version\":\"1.0.0\"}"),
            ("usr/bin/unrelated", "binary"));
        var upper = Layer(false,
            ("var/lib/dpkg/status", "Package: new\nStatus: install ok installed\nVersion: 2\n"),
            ("usr/lib/python3/site-packages/.wh.gone-1.dist-info", ""),
            ("opt/app/.wh..wh..opq", ""),
            ("opt/app/node_modules/fresh/package.json", "{\"name\":\"fresh\",\"version\":\"2.0.0\"}"),
            ("etc/os-release", null)); // replaced by a link: must not survive, must not be followed
        var image = SavedImage(
            ("bbb/layer.tar", upper),          // out of order on purpose: manifest.json decides
            ("aaa/layer.tar", lower),
            ("cfg.json", Json(new { rootfs = new { diff_ids = new[] { "sha256:lower", "sha256:upper" } } })),
            ("manifest.json", Json(new[] { new { Config = "cfg.json", Layers = new[] { "aaa/layer.tar", "bbb/layer.tar" } } })));

        var files = await SavedImageReader.ReadAsync(image, CancellationToken.None);

        Assert.Equal(
            ["opt/app/node_modules/fresh/package.json", "opt/keep/node_modules/kept/package.json", "var/lib/dpkg/status"],
            files.All.Select(f => f.Path));
        var status = files.Get("var/lib/dpkg/status")!;
        Assert.Contains("Package: new", Encoding.UTF8.GetString(status.Content), StringComparison.Ordinal);
        Assert.Equal("sha256:upper", status.Layer);
        Assert.Equal("sha256:lower", files.Get("opt/keep/node_modules/kept/package.json")!.Layer);
    }

    [Fact]
    public async Task Read_OciLayoutWithGzipLayers()
    {
        var layer = Layer(true, ("lib/apk/db/installed", "P:musl\nV:1.2.4-r2\no:musl\n"), ("etc/alpine-release", "3.19.1\n"));
        var image = SavedImage(
            ("blobs/sha256/aaaa", layer),
            ("blobs/sha256/cccc", Json(new { rootfs = new { diff_ids = new[] { "sha256:diff" } } })),
            ("manifest.json", Json(new[] { new { Config = "blobs/sha256/cccc", Layers = new[] { "blobs/sha256/aaaa" } } })));

        var files = await SavedImageReader.ReadAsync(image, CancellationToken.None);

        Assert.Equal(["etc/alpine-release", "lib/apk/db/installed"], files.All.Select(f => f.Path));
    }

    [Fact]
    public async Task Read_NoManifest_IsInvalidData()
    {
        var image = SavedImage(("aaa/layer.tar", Layer(false, ("etc/os-release", "ID=x\n"))));
        await Assert.ThrowsAsync<InvalidDataException>(() => SavedImageReader.ReadAsync(image, CancellationToken.None));
    }
}
