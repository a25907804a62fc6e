using System.Text;
using Berth.Scanner.Layers;

namespace Berth.Scanner.Tests;

/// <summary>Incomplete scans: package databases that are gone, empty, malformed or unreadable are problems, never a silent clean.</summary>
[Collection(VulnDbCollection.Name)]
public sealed class ImageScannerTests(VulnDbFixture db)
{
    private const string DebianRelease = "ID=debian\nVERSION_ID=11\n";
    private const string AlpineRelease = "ID=alpine\nVERSION_ID=3.11.6\n";
    private const string Status = "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.11.dfsg-2+deb11u2\nSource: zlib\n";

    private static LayerIndex Layer(string name, params (string Path, string Content)[] files)
    {
        var index = new LayerIndex { Layer = name };
        foreach (var (path, content) in files)
        {
            index.Files[path] = Encoding.UTF8.GetBytes(content);
        }
        return index;
    }

    private ScanResult Scan(params LayerIndex[] layers) => ImageScanner.Scan(LayerMerger.Merge(layers), db.Database);

    [Fact]
    public void Scan_StatusDeletedByALaterLayer_IsAProblemNamingBothLayers()
    {
        var lower = Layer("sha256:1111111111111111111111111111111111111111111111111111111111111111",
            ("etc/os-release", DebianRelease), ("var/lib/dpkg/status", Status));
        lower.Managers.Add("usr/bin/dpkg");
        var upper = Layer("sha256:2");
        upper.Deleted.Add("var/lib/dpkg/status");

        var result = Scan(lower, upper);

        Assert.Empty(result.Packages);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("/var/lib/dpkg/status (layer sha256:111111111111) was removed by layer sha256:2: the image's OS packages cannot be listed", problem);
    }

    [Fact]
    public void Scan_DpkgPresentAndNoStatusEver_IsAProblemNamingDpkg()
    {
        var layer = Layer("sha256:1", ("etc/os-release", DebianRelease));
        layer.Managers.Add("usr/bin/dpkg");

        Assert.Equal("/usr/bin/dpkg is in the image but its package database (/var/lib/dpkg/status) is not: the image's OS packages cannot be listed",
            Assert.Single(Scan(layer).Problems));
    }

    [Fact]
    public void Scan_DatabaseDirectoryReplacedByALink_IsAProblem()
    {
        var lower = Layer("sha256:1", ("etc/os-release", DebianRelease), ("var/lib/dpkg/status", Status));
        var upper = Layer("sha256:2", ("var/lib/dpkg-real/status", Status));
        upper.Deleted.Add("var/lib/dpkg"); // what the collector records for a symbolic link at var/lib/dpkg

        var result = Scan(lower, upper);

        Assert.Empty(result.Packages);
        Assert.Contains("/var/lib/dpkg/status (layer sha256:1) was removed by layer sha256:2", Assert.Single(result.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_DpkgPresentWithItsStatus_HasNoProblem()
    {
        var layer = Layer("sha256:1", ("etc/os-release", DebianRelease), ("var/lib/dpkg/status", Status));
        layer.Managers.Add("usr/bin/dpkg");

        var result = Scan(layer);

        Assert.Empty(result.Problems);
        Assert.Equal("zlib1g", Assert.Single(result.Packages).Name);
    }

    [Fact]
    public void Scan_ApkPresentAndInstalledDeleted_IsAProblemNamingApk()
    {
        var lower = Layer("sha256:1", ("etc/os-release", AlpineRelease), ("lib/apk/db/installed", "P:musl\nV:1.1.24-r2\no:musl\n"));
        lower.Managers.Add("sbin/apk");
        var upper = Layer("sha256:2");
        upper.Opaque.Add("lib/apk");

        var result = Scan(lower, upper);

        Assert.Equal("/lib/apk/db/installed (layer sha256:1) was removed by layer sha256:2: the image's OS packages cannot be listed",
            Assert.Single(result.Problems));
    }

    [Fact]
    public void Scan_ManagerRemovedWithItsDatabase_IsStillAProblem()
    {
        var lower = Layer("sha256:1", ("etc/os-release", DebianRelease), ("var/lib/dpkg/status", Status));
        lower.Managers.Add("usr/bin/dpkg");
        var upper = Layer("sha256:2");
        upper.Deleted.AddRange(["var/lib/dpkg", "usr/bin/dpkg"]);

        // Deleting the database hides the packages installed before: the tool that kept it does not matter.
        Assert.Contains("was removed by layer sha256:2", Assert.Single(Scan(lower, upper).Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_DistrolessStatusDWithoutDpkg_HasNoProblem()
    {
        var layer = Layer("sha256:1",
            ("etc/os-release", DebianRelease),
            ("var/lib/dpkg/status.d/base", "Package: base-files\nVersion: 11.1+deb11u5\nArchitecture: amd64\n"),
            ("var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.31-13+deb11u5\nSource: glibc\n"));

        var result = Scan(layer);

        Assert.Empty(result.Problems);
        Assert.Equal(["base-files", "libc6"], result.Packages.Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Scan_DpkgWithStatusDOnly_CountsAsItsDatabase()
    {
        var layer = Layer("sha256:1", ("etc/os-release", DebianRelease), ("var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.31-13+deb11u5\n"));
        layer.Managers.Add("usr/bin/dpkg");

        Assert.Empty(Scan(layer).Problems);
    }

    [Fact]
    public void Scan_EmptyStatus_IsAProblem()
    {
        var result = Scan(Layer("sha256:1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
            ("etc/os-release", DebianRelease), ("var/lib/dpkg/status", "")));

        Assert.Equal("/var/lib/dpkg/status is empty (layer sha256:1234567890ab): the image's OS packages cannot be listed", Assert.Single(result.Problems));
    }

    [Theory]
    [InlineData("var/lib/dpkg/status", "this is not a status file\n")]
    [InlineData("var/lib/dpkg/status", "Package: half-installed\nStatus: deinstall ok config-files\nVersion: 1\n")]
    [InlineData("lib/apk/db/installed", "\0\0\0garbage")]
    public void Scan_StatusWithNoInstalledPackage_IsAProblem(string path, string content)
    {
        var result = Scan(Layer("sha256:1", ("etc/os-release", DebianRelease), (path, content)));

        Assert.Equal($"/{path} could not be read as a package database (layer sha256:1): it lists no installed package", Assert.Single(result.Problems));
    }

    [Fact]
    public void Scan_UnreadableMetadata_IsAProblemNamingPathReasonAndLayer()
    {
        var layer = Layer("sha256:abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd");
        layer.Unreadable["usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"] = "a symbolic link";

        var result = Scan(layer);

        Assert.Equal(
            "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA is a symbolic link (layer sha256:abcdefabcdef): its packages could not be read",
            Assert.Single(result.Problems));
    }

    [Fact]
    public void Scan_ReadProblems_ComeFirst()
    {
        var layer = Layer("sha256:1");
        layer.Unreadable["var/lib/dpkg/status"] = "a directory";

        var result = ImageScanner.Scan(LayerMerger.Merge([layer]), db.Database, ["the scan stopped: x"]);

        Assert.Equal(2, result.Problems.Count);
        Assert.Equal("the scan stopped: x", result.Problems[0]);
    }

    [Fact]
    public void Scan_NpmPackagesWithNoNpmData_WarnTheyWereNotChecked()
    {
        var result = Scan(Layer("sha256:1",
            ("srv/app/node_modules/left-pad/package.json", "{\"name\":\"left-pad\",\"version\":\"1.3.0\"}"),
            ("srv/app/node_modules/lodash/package.json", "{\"name\":\"lodash\",\"version\":\"4.17.20\"}")));

        Assert.False(db.Database.HasEcosystem("npm"));
        Assert.Equal(2, result.Packages.Count);
        Assert.Contains("2 npm package(s) were not checked: the advisory database has no npm advisories", result.Warnings);
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void Scan_PythonPackagesWithPyPIData_HaveNoNotCheckedWarning()
    {
        var result = Scan(Layer("sha256:1", ("usr/lib/python3/dist-packages/urllib3-1.26.16.dist-info/METADATA", "Name: urllib3\nVersion: 1.26.16\n")));

        Assert.DoesNotContain(result.Warnings, w => w.Contains("not checked", StringComparison.Ordinal));
        Assert.Contains(result.Findings, f => f.AdvisoryId == "PYSEC-2023-192");
    }
}
