using System.Runtime.InteropServices;
using System.Text;
using Berth.Scanner.Layers;

namespace Berth.Scanner.Tests.Layers;

/// <summary>
/// Layers read straight from an overlay2-style directory built in a temp folder. Whiteout character devices and
/// the <c>trusted.overlay.opaque</c> attribute need root (CI runs as root): as root they are created and must be
/// honoured; otherwise the tests show that creating them is refused and the rest still runs.
/// </summary>
public sealed partial class LayerDirectoryReaderTests : IDisposable
{
    private const string Status = "var/lib/dpkg/status";
    private const string StatusText = "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.11.dfsg-2\n";
    private static readonly ScanLimits Limits = new(MaxDatabaseBytes: 1000, MaxMetadataBytes: 100, MaxTotalBytes: 100_000, MaxEntries: 10_000);

    private readonly TempFolder _temp = new("berth-layerdir-");

    public void Dispose() => _temp.Dispose();

    private static bool IsRoot => Native.geteuid() == 0;

    private static Task<LayerIndex> ReadAsync(string directory, string diffId = "sha256:dir") =>
        LayerDirectoryReader.ReadAsync(directory, diffId, new ScanBudget(Limits), secrets: false, CancellationToken.None);

    /// <summary>One layer's content, written either as a directory (overlay2 form) or as a tar (saved-image form).</summary>
    private sealed class Tree
    {
        private readonly List<(string Kind, string Path, string Value)> _items = [];

        public Tree File(string path, string content) => Add("file", path, content);

        public Tree Symlink(string path, string target) => Add("symlink", path, target);

        public Tree Directory(string path) => Add("dir", path, "");

        public Tree Whiteout(string path) => Add("whiteout", path, "");

        public Tree Opaque(string directory) => Add("opaque", directory, "");

        private Tree Add(string kind, string path, string value)
        {
            _items.Add((kind, path, value));
            return this;
        }

        public string WriteTo(string root)
        {
            System.IO.Directory.CreateDirectory(root);
            foreach (var (kind, path, value) in _items)
            {
                var full = Path.Combine(root, path);
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                switch (kind)
                {
                    case "file":
                        System.IO.File.WriteAllText(full, value);
                        break;
                    case "symlink":
                        System.IO.File.CreateSymbolicLink(full, value);
                        break;
                    case "dir":
                        System.IO.Directory.CreateDirectory(full);
                        break;
                    case "whiteout":
                        Native.Check(Native.mknod(full, Native.S_IFCHR | 0x1A4, 0), $"mknod {path}");
                        break;
                    default:
                        System.IO.Directory.CreateDirectory(full);
                        Native.Check(Native.setxattr(full, "trusted.overlay.opaque", "y"u8, 1, 0), $"setxattr {path}");
                        break;
                }
            }
            return root;
        }

        public TarLayer ToTar()
        {
            var tar = new TarLayer();
            foreach (var (kind, path, value) in _items)
            {
                _ = kind switch
                {
                    "file" => tar.File(path, value),
                    "symlink" => tar.Symlink(path, value),
                    "dir" => tar.Directory(path),
                    "whiteout" => tar.Whiteout(path),
                    _ => tar.Directory(path).Opaque(path),
                };
            }
            return tar;
        }
    }

    [Fact]
    public async Task ReadAsync_RegularFilesInNestedDirectories_AreKeptWithTheirContent()
    {
        var root = new Tree()
            .File("etc/os-release", "ID=debian\nVERSION_ID=11\n")
            .File(Status, StatusText)
            .File("usr/bin/dpkg", "ELF")
            .File("usr/local/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA", "Name: six\nVersion: 1.16.0\n")
            .File("srv/my app/node_modules/@acme/left-pad/package.json", "{\"name\":\"@acme/left-pad\",\"version\":\"1.0.0\"}")
            .File("usr/share/doc/zlib1g/copyright", "not wanted")
            .WriteTo(_temp["layer"]);

        var index = await ReadAsync(root, "sha256:" + new string('d', 64));

        Assert.Equal("sha256:" + new string('d', 64), index.Layer);
        Assert.Equal(
            ["etc/os-release", "srv/my app/node_modules/@acme/left-pad/package.json", "usr/local/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA", Status],
            index.Files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(StatusText, Encoding.UTF8.GetString(index.Files[Status]));
        Assert.Equal(["usr/bin/dpkg"], index.Managers);
        Assert.Empty(index.Unreadable);
        Assert.True(index.Entries >= 6, $"{index.Entries} entries");
    }

    [Fact]
    public async Task ReadAsync_WantedFileIsASymlinkToPasswd_IsUnreadableAndNeverRead()
    {
        var root = new Tree().Symlink(Status, "/etc/passwd").Symlink("lib/apk/db/installed", "../../../../../../etc/passwd").WriteTo(_temp["layer"]);

        var index = await ReadAsync(root);

        Assert.Equal("a symbolic link", index.Unreadable[Status]);
        Assert.Equal("a symbolic link", index.Unreadable["lib/apk/db/installed"]);
        Assert.Empty(index.Files);
    }

    [Fact]
    public async Task ReadAsync_DirectorySymlinkToAHostDirectory_IsNotDescended()
    {
        var outside = new Tree()
            .File("dpkg/status", "Package: host-secret\nStatus: install ok installed\nVersion: 1\n")
            .File("python3/dist-packages/host-1.0.dist-info/METADATA", "Name: host\nVersion: 1.0\n")
            .WriteTo(_temp["host"]);
        var root = new Tree()
            .Symlink("var/lib/dpkg", Path.Combine(outside, "dpkg"))
            .Symlink("usr/lib/python3", Path.Combine(outside, "python3"))
            .Symlink("usr/share/dpkg", "/var/lib/dpkg") // the real host's dpkg database, where there is one
            .WriteTo(_temp["layer"]);

        var index = await ReadAsync(root);

        Assert.Empty(index.Files);
        Assert.Empty(index.Unreadable);
        Assert.Equal(8, index.Entries); // var, var/lib, usr, usr/lib, usr/share and the three links: nothing below a link
    }

    [Fact]
    public async Task ReadAsync_HostDpkgDirectoryLinkedAtItsOwnPath_HostStatusNeverAppears()
    {
        var root = new Tree().Symlink("var/lib/dpkg", "/var/lib/dpkg").File("usr/bin/dpkg", "ELF").WriteTo(_temp["layer"]);

        var merged = LayerMerger.Merge([await ReadAsync(root)]);

        Assert.Equal(0, merged.Files.Count);
        Assert.Equal(["usr/bin/dpkg"], merged.Managers);
    }

    [Fact]
    public async Task ReadAsync_HardLinkedStatus_IsReadNormally()
    {
        var root = new Tree().File("var/backups/dpkg.status.0", StatusText).WriteTo(_temp["layer"]);
        Directory.CreateDirectory(Path.Combine(root, "var/lib/dpkg"));
        Native.Check(Native.link(Path.Combine(root, "var/backups/dpkg.status.0"), Path.Combine(root, Status)), "link");

        var index = await ReadAsync(root);

        Assert.Empty(index.Unreadable);
        Assert.Equal(StatusText, Encoding.UTF8.GetString(index.Files[Status]));
    }

    [Fact]
    public async Task ReadAsync_FifoAtAWantedPath_IsUnreadableAndNotOpened()
    {
        var root = new Tree().Directory("var/lib/dpkg").WriteTo(_temp["layer"]);
        Native.Check(Native.mkfifo(Path.Combine(root, Status), 0x1A4), "mkfifo");

        var index = await ReadAsync(root).WaitAsync(TimeSpan.FromSeconds(30)); // opening a FIFO for reading would block

        Assert.Equal("not a regular file", index.Unreadable[Status]);
    }

    [Fact]
    public async Task ReadAsync_WantedPathIsADirectoryOrTooLarge_IsUnreadable()
    {
        var root = new Tree()
            .Directory("lib/apk/db/installed")
            .File(Status, new string('x', 1001))
            .WriteTo(_temp["layer"]);

        var index = await ReadAsync(root);

        Assert.Equal("a directory", index.Unreadable["lib/apk/db/installed"]);
        Assert.Equal("larger than the 1000 bytes a package file may have (Scan:MaxFileMb)", index.Unreadable[Status]);
        Assert.Empty(index.Files);
    }

    [Fact]
    public async Task ReadAsync_MissingDirectory_IsAnIOException()
    {
        await Assert.ThrowsAnyAsync<IOException>(() => ReadAsync(_temp["nothing-here"]));
    }

    [Fact]
    public async Task ReadAsync_LayerDirectoryIsItselfASymlink_IsRefused()
    {
        var real = new Tree().File(Status, StatusText).WriteTo(_temp["real"]);
        Directory.CreateSymbolicLink(_temp["link"], real);

        await Assert.ThrowsAnyAsync<IOException>(() => ReadAsync(_temp["link"]));
    }

    [Fact]
    public async Task ReadAsync_WhiteoutDevicesAndOpaqueDirectories_AreHonouredAsRoot()
    {
        var lower = new Tree()
            .File(Status, StatusText)
            .File("usr/bin/dpkg", "ELF")
            .File("srv/app/node_modules/old/package.json", "{\"name\":\"old\",\"version\":\"1.0.0\"}")
            .File("srv/keep/node_modules/kept/package.json", "{\"name\":\"kept\",\"version\":\"1.0.0\"}")
            .WriteTo(_temp["lower"]);
        var upper = new Tree()
            .Whiteout(Status)
            .Opaque("srv/app")
            .File("srv/app/node_modules/new/package.json", "{\"name\":\"new\",\"version\":\"2.0.0\"}");

        if (!IsRoot)
        {
            // Not root: overlayfs markers cannot be made here. Creating them must be refused (else this branch is wrong),
            // and plain look-alikes (an empty file, a directory without the attribute) must not act as markers.
            Assert.Throws<IOException>(() => upper.WriteTo(_temp["upper"]));
            var lookalike = new Tree().File(Status, "").Directory("srv/app").WriteTo(_temp["lookalike"]);
            var index = await ReadAsync(lookalike);
            Assert.Empty(index.Deleted);
            Assert.Empty(index.Opaque);
            return;
        }

        var upperIndex = await ReadAsync(upper.WriteTo(_temp["upper"]), "sha256:upper");

        Assert.Equal([Status], upperIndex.Deleted);
        Assert.Equal(["srv/app"], upperIndex.Opaque);
        var merged = LayerMerger.Merge([await ReadAsync(lower, "sha256:lower"), upperIndex]);
        Assert.Equal(["srv/app/node_modules/new/package.json", "srv/keep/node_modules/kept/package.json"], merged.Files.All.Select(f => f.Path));
        Assert.Equal(["usr/bin/dpkg"], merged.Managers);
    }

    [Fact]
    public async Task ReadAsync_CharDeviceThatIsNotAWhiteout_IsUnreadableNotAWhiteout()
    {
        var root = new Tree().Directory("var/lib/dpkg").WriteTo(_temp["layer"]);
        var made = Native.mknod(Path.Combine(root, Status), Native.S_IFCHR | 0x1A4, (1UL << 8) | 3); // 1:3, /dev/null's numbers

        if (!IsRoot)
        {
            Assert.NotEqual(0, made);
            return;
        }
        Assert.Equal(0, made);

        var index = await ReadAsync(root);

        Assert.Equal([Status], index.Deleted); // it hides what lower layers had at that path, as any non-file does
        Assert.Equal("not a regular file", index.Unreadable[Status]);
    }

    [Fact]
    public async Task ReadAsync_SameTreeAsATarLayer_GivesTheSameIndex()
    {
        var tree = new Tree()
            .File("etc/os-release", "ID=debian\nVERSION_ID=12\n")
            .Symlink("usr/lib/os-release", "../../etc/os-release")
            .File(Status, StatusText)
            .File("var/lib/dpkg/status.d/base", "Package: base-files\nVersion: 12.4\n")
            .File("var/lib/dpkg/status.d/base.md5sums", "x")
            .File("usr/bin/dpkg", "ELF")
            .Symlink("sbin/apk", "/bin/busybox")
            .Symlink("lib/apk/db/installed", "/etc/shadow")
            .Symlink("var/lib/python", "/usr/lib/python3")
            .File("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA", "Name: six\nVersion: 1.16.0\n")
            .File("usr/lib/python3/dist-packages/big-1.0.dist-info/METADATA", new string('m', 101))
            .File("usr/lib/python3/dist-packages/big-1.0.dist-info/RECORD", "big/__init__.py,,\n")
            .Directory("usr/lib/python3/dist-packages/six-1.16.0.egg-info")
            .File("srv/app/package-lock.json", "{\"lockfileVersion\":3}".PadRight(500))
            .File("srv/app/node_modules/a/package.json", "{\"name\":\"a\",\"version\":\"1.0.0\"}")
            .Directory("srv/app/node_modules/b/package.json");
        if (IsRoot)
        {
            tree.Whiteout("lib/apk/db/old").Opaque("opt/gone");
        }

        var fromDirectory = await ReadAsync(tree.WriteTo(_temp["layer"]));
        var fromTar = Assert.Single(await SavedImageReader.ReadLayersAsync(SavedImage.Of(tree.ToTar()), new ScanBudget(Limits), CancellationToken.None));

        Assert.Equal(Describe(fromTar), Describe(fromDirectory));
        Assert.Equal(7, fromDirectory.Files.Count); // a meaningful comparison: files, refusals and managers on both sides
        Assert.Equal(3, fromDirectory.Unreadable.Count);
        Assert.Equal(2, fromDirectory.Managers.Count);
        Assert.Equal(IsRoot ? 1 : 0, fromDirectory.Deleted.Count(d => d == "lib/apk/db/old"));
    }

    private static string Describe(LayerIndex index) => string.Join("\n", [
        .. index.Files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"file {f.Key} {Convert.ToHexString(f.Value)}"),
        .. index.Unreadable.OrderBy(u => u.Key, StringComparer.Ordinal).Select(u => $"unreadable {u.Key}: {u.Value}"),
        .. index.Deleted.Order(StringComparer.Ordinal).Select(d => $"deleted {d}"),
        .. index.Opaque.Order(StringComparer.Ordinal).Select(o => $"opaque {o}"),
        .. index.Managers.Order(StringComparer.Ordinal).Select(m => $"manager {m}"),
    ]);

    private static partial class Native
    {
        public const uint S_IFCHR = 0x2000;

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int mknod(string path, uint mode, ulong dev);

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int mkfifo(string path, uint mode);

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int link(string existing, string created);

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int setxattr(string path, string name, ReadOnlySpan<byte> value, nuint size, int flags);

        [LibraryImport("libc")]
        public static partial uint geteuid();

        public static void Check(int result, string what)
        {
            if (result != 0)
            {
                throw new IOException($"{what} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }
}
