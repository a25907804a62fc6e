using System.Text;
using Berth.Scanner.Catalogers.Npm;
using Berth.Scanner.Tests.Json;

namespace Berth.Scanner.Tests.Catalogers;

/// <summary>package.json in an image is written by whoever built it: every file is read strictly, and a bad one is skipped with a warning.</summary>
public sealed class NpmCatalogerTests
{
    private const string Path = "app/node_modules/x/package.json";

    private static (IReadOnlyList<Packages.Package> Packages, List<string> Warnings) Catalog(byte[] content, string path = Path)
    {
        var warnings = new List<string>();
        var files = new ImageFilesBuilder()
            .Add(path, content)
            .Add("app/node_modules/good/package.json", "{\"name\": \"good\", \"version\": \"1.0.0\"}")
            .Build();
        var packages = new NpmCataloger().Catalog(files, null, warnings);
        return (packages, warnings);
    }

    [Theory]
    [InlineData("{\"\\ud800\": 1, \"name\": \"x\", \"version\": \"1.0.0\"}", "not valid Unicode")]
    [InlineData("{\"name\": \"x\\udc00\", \"version\": \"1.0.0\"}", "not valid Unicode")]
    [InlineData("{\"name\": \"x\", \"version\": \"1.0.0\", \"name\": \"lodash\"}", "appears twice")]
    [InlineData("{\"name\": \"x\", \"version\": \"1.0.0\",}", "not valid JSON")]
    [InlineData("{\"name\": \"x\", \"version\": 1}", "no string name and version")]
    public void Catalog_HostilePackageJson_IsSkippedWithAWarningAndTheScanGoesOn(string json, string warning)
    {
        var (packages, warnings) = Catalog(Encoding.UTF8.GetBytes(json));

        Assert.Equal(["good"], packages.Select(p => p.Name));
        var line = Assert.Single(warnings);
        Assert.Contains("/" + Path, line, StringComparison.Ordinal);
        Assert.Contains(warning, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_RawLoneSurrogateBytesInAKey_IsSkippedWithAWarning()
    {
        var (packages, warnings) = Catalog([.. "{\""u8, 0xED, 0xA0, 0x80, .. "\": 1, \"name\": \"x\", \"version\": \"1\"}"u8]);

        Assert.Equal(["good"], packages.Select(p => p.Name));
        Assert.Contains("not valid Unicode", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_GeneratedPackageJson_NeverThrowsAndKeepsOnlyWellFormedPackages()
    {
        var json = new HostileJson(seed: 515, maxDepth: 64);
        for (var i = 0; i < 1500; i++)
        {
            var sample = json.Next();
            var wrapped = i % 2 == 0; // a real name and version around the sample, so that the verdict, not the shape, decides
            var random = i % 7 == 0;
            byte[] content = random ? json.Bytes(200)
                : wrapped ? [.. "{\"name\": \"x\", \"version\": \"1.0.0\", \"body\": "u8, .. sample.Utf8, .. "}"u8]
                : sample.Utf8;

            var (packages, warnings) = Catalog(content);

            var x = packages.Count(p => p.Name != "good");
            Assert.Equal(1, x + warnings.Count); // a package or a warning, never both, never an exception
            if (!random)
            {
                Assert.Equal(sample.Defect == JsonDefect.None && wrapped, x == 1);
            }
        }
    }
}
