using System.Text;
using Berth.Scanner.Layers;

namespace Berth.Scanner.Tests.Layers;

public sealed class LayerMergerTests
{
    private static LayerIndex Layer(string name, params (string Path, string Content)[] files)
    {
        var index = new LayerIndex { Layer = name };
        foreach (var (path, content) in files)
        {
            index.Files[path] = Encoding.UTF8.GetBytes(content);
        }
        return index;
    }

    private static string Text(MergedImage image, string path) => Encoding.UTF8.GetString(image.Files.Get(path)!.Content);

    [Fact]
    public void Merge_LayersAppliedBottomToTop_UpperFileWinsAndKeepsItsLayer()
    {
        var image = LayerMerger.Merge([
            Layer("sha256:1", ("var/lib/dpkg/status", "one"), ("etc/os-release", "ID=debian")),
            Layer("sha256:2", ("var/lib/dpkg/status", "two")),
        ]);

        Assert.Equal("two", Text(image, "var/lib/dpkg/status"));
        Assert.Equal("sha256:2", image.Files.Get("var/lib/dpkg/status")!.Layer);
        Assert.Equal("sha256:1", image.Files.Get("etc/os-release")!.Layer);
    }

    [Fact]
    public void Merge_ReversedOrder_GivesTheOtherResult()
    {
        var image = LayerMerger.Merge([
            Layer("sha256:2", ("var/lib/dpkg/status", "two")),
            Layer("sha256:1", ("var/lib/dpkg/status", "one")),
        ]);

        Assert.Equal("one", Text(image, "var/lib/dpkg/status"));
    }

    [Fact]
    public void Merge_WhiteoutOfAFile_RemovesIt()
    {
        var upper = Layer("sha256:2");
        upper.Deleted.Add("var/lib/dpkg/status");

        var image = LayerMerger.Merge([Layer("sha256:1", ("var/lib/dpkg/status", "one"), ("var/lib/dpkg/status-old", "old")), upper]);

        Assert.Null(image.Files.Get("var/lib/dpkg/status"));
        Assert.NotNull(image.Files.Get("var/lib/dpkg/status-old")); // a sibling sharing the prefix stays
    }

    [Fact]
    public void Merge_WhiteoutOfADirectory_RemovesEverythingUnderItOnly()
    {
        var upper = Layer("sha256:2");
        upper.Deleted.Add("srv/app");
        var lower = Layer("sha256:1",
            ("srv/app/node_modules/a/package.json", "{}"),
            ("srv/app/package-lock.json", "{}"),
            ("srv/application/node_modules/b/package.json", "{}"));
        lower.Unreadable["srv/app/node_modules/c/package.json"] = "a symbolic link";
        lower.Managers.Add("srv/app/usr/bin/dpkg");

        var image = LayerMerger.Merge([lower, upper]);

        Assert.Equal(["srv/application/node_modules/b/package.json"], image.Files.All.Select(f => f.Path));
        Assert.Empty(image.Unreadable);
        Assert.Empty(image.Managers);
    }

    [Fact]
    public void Merge_OpaqueDirectory_HidesLowerContentButKeepsItsOwnLayers()
    {
        var lower = Layer("sha256:1", ("srv/app/node_modules/old/package.json", "old"), ("srv/keep/node_modules/k/package.json", "k"));
        lower.Unreadable["srv/app/node_modules/link/package.json"] = "a symbolic link";
        var upper = Layer("sha256:2", ("srv/app/node_modules/new/package.json", "new"));
        upper.Opaque.Add("srv/app");

        var image = LayerMerger.Merge([lower, upper]);

        Assert.Equal(["srv/app/node_modules/new/package.json", "srv/keep/node_modules/k/package.json"], image.Files.All.Select(f => f.Path));
        Assert.Empty(image.Unreadable);
    }

    [Fact]
    public void Merge_WhiteoutOfAManager_RemovesIt()
    {
        var lower = Layer("sha256:1");
        lower.Managers.AddRange(["usr/bin/dpkg", "sbin/apk"]);
        var upper = Layer("sha256:2");
        upper.Deleted.Add("usr/bin/dpkg");

        var image = LayerMerger.Merge([lower, upper]);

        Assert.Equal(["sbin/apk"], image.Managers);
    }

    [Fact]
    public void Merge_ManagerDeletedThenAddedAgain_IsPresent()
    {
        var lower = Layer("sha256:1");
        lower.Managers.Add("usr/bin/dpkg");
        var middle = Layer("sha256:2");
        middle.Deleted.Add("usr/bin");
        var upper = Layer("sha256:3");
        upper.Managers.Add("usr/bin/dpkg");

        Assert.Empty(LayerMerger.Merge([lower, middle]).Managers);
        Assert.Equal(["usr/bin/dpkg"], LayerMerger.Merge([lower, middle, upper]).Managers);
    }

    [Fact]
    public void Merge_UnreadableOverAFile_HidesItAndNamesTheUpperLayer()
    {
        var upper = Layer("sha256:2");
        upper.Unreadable["var/lib/dpkg/status"] = "a symbolic link";

        var image = LayerMerger.Merge([Layer("sha256:1", ("var/lib/dpkg/status", "one")), upper]);

        Assert.Null(image.Files.Get("var/lib/dpkg/status"));
        Assert.Equal(new UnreadableFile("var/lib/dpkg/status", "sha256:2", "a symbolic link"), Assert.Single(image.Unreadable));
    }

    [Fact]
    public void Merge_FileOverAnUnreadable_ClearsIt()
    {
        var lower = Layer("sha256:1");
        lower.Unreadable["var/lib/dpkg/status"] = "a symbolic link";

        var image = LayerMerger.Merge([lower, Layer("sha256:2", ("var/lib/dpkg/status", "two"))]);

        Assert.Empty(image.Unreadable);
        Assert.Equal("two", Text(image, "var/lib/dpkg/status"));
    }

    [Fact]
    public void Merge_WhiteoutThenFileInTheSameLayer_KeepsTheLayersOwnFile()
    {
        // A layer that replaces a directory deletes the old one and adds its own content: deletion applies to lower layers only.
        var upper = Layer("sha256:2", ("srv/app/node_modules/new/package.json", "new"));
        upper.Deleted.Add("srv/app");

        var image = LayerMerger.Merge([Layer("sha256:1", ("srv/app/node_modules/old/package.json", "old")), upper]);

        Assert.Equal(["srv/app/node_modules/new/package.json"], image.Files.All.Select(f => f.Path));
    }

    [Fact]
    public void Merge_UnreadableFiles_AreSortedByPath()
    {
        var layer = Layer("sha256:1");
        layer.Unreadable["var/lib/dpkg/status"] = "a symbolic link";
        layer.Unreadable["lib/apk/db/installed"] = "a directory";

        Assert.Equal(["lib/apk/db/installed", "var/lib/dpkg/status"], LayerMerger.Merge([layer]).Unreadable.Select(u => u.Path));
    }
}
