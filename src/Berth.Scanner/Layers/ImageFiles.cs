namespace Berth.Scanner.Layers;

/// <summary>A file of the image's final filesystem that a cataloger asked for.</summary>
public sealed record ImageFile(string Path, string Layer, byte[] Content);

/// <summary>The wanted files of the image's merged filesystem (layers applied in order, whiteouts honoured).</summary>
public sealed class ImageFiles(IReadOnlyDictionary<string, ImageFile> files)
{
    /// <summary>Paths are relative to the image root, without a leading slash: <c>etc/os-release</c>.</summary>
    public ImageFile? Get(string path) => files.GetValueOrDefault(path);

    public IEnumerable<ImageFile> All => files.Values.OrderBy(f => f.Path, StringComparer.Ordinal);

    public int Count => files.Count;
}
