using System.Text;
using Berth.Scanner.Layers;

namespace Berth.Scanner.Tests;

/// <summary>An in-memory image filesystem for cataloger tests.</summary>
public sealed class ImageFilesBuilder
{
    private readonly Dictionary<string, ImageFile> _files = new(StringComparer.Ordinal);

    public ImageFilesBuilder Add(string path, string content, string layer = "sha256:layer1") => Add(path, Encoding.UTF8.GetBytes(content), layer);

    public ImageFilesBuilder Add(string path, byte[] content, string layer = "sha256:layer1")
    {
        _files[path] = new ImageFile(path, layer, content);
        return this;
    }

    public ImageFilesBuilder AddFixture(string path, string fixture) => Add(path, File.ReadAllBytes(TestData.Path(fixture.Split('/'))));

    public ImageFiles Build() => new(_files);
}
