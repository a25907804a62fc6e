using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Berth.Kubernetes.Tests;

/// <summary>docs/kubernetes.md shows the generator's output for its sample job, block by block, so it cannot drift.</summary>
public sealed partial class DocumentationTests
{
    private static readonly string Document = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "testdata", "kubernetes.md"));

    public static TheoryData<string> BlockNames() => [.. DocumentedSample.Blocks().Keys];

    [Theory]
    [MemberData(nameof(BlockNames))]
    public void Document_ManifestBlock_EqualsTheGenerator(string name)
    {
        var blocks = DocumentBlocks();
        Assert.True(blocks.ContainsKey(name), $"docs/kubernetes.md has no ```yaml block starting with '# berth-manifest: {name}'");
        Assert.Equal(DocumentedSample.Blocks()[name], blocks[name]);
    }

    [Fact]
    public void Document_EveryManifestBlock_IsOneTheGeneratorMakes()
    {
        var unknown = DocumentBlocks().Keys.Except(DocumentedSample.Blocks().Keys).ToList();
        Assert.Empty(unknown);
        Assert.Equal(DocumentedSample.Blocks().Count, Block().Count(Document));
    }

    /// <summary>
    /// What the page shows loads back into the client's typed objects (each kind by its apiVersion and kind) and
    /// serializes to the same text: no field is unknown to the model or lost on the way.
    /// </summary>
    [Theory]
    [MemberData(nameof(BlockNames))]
    public void Document_ManifestBlock_LoadsIntoTypedObjectsWithoutLosingAField(string name)
    {
        var block = DocumentBlocks()[name];

        var objects = name == "delete-options"
            ? [KubernetesYaml.Deserialize<V1DeleteOptions>(block, strict: true)]
            : KubernetesYaml.LoadAllFromString(block, strict: true);

        Assert.All(objects, o => Assert.StartsWith("k8s.Models.", o.GetType().FullName, StringComparison.Ordinal));
        Assert.Equal(block, string.Join("---\n", objects.Select(o => KubernetesYaml.Serialize(o) + "\n")));
    }

    private static Dictionary<string, string> DocumentBlocks() =>
        Block().Matches(Document).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["yaml"].Value);

    [GeneratedRegex(@"^```yaml\n# berth-manifest: (?<name>[a-z-]+)\n(?<yaml>.*?)^```$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Block();
}
