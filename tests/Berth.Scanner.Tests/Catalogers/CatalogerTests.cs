using Berth.Scanner.Advisories;
using Berth.Scanner.Catalogers;
using Berth.Scanner.Catalogers.Apk;
using Berth.Scanner.Catalogers.Dpkg;
using Berth.Scanner.Catalogers.Npm;
using Berth.Scanner.Catalogers.Os;
using Berth.Scanner.Catalogers.Python;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Tests.Catalogers;

public sealed class CatalogerTests
{
    private static readonly Distro Bullseye = new("debian", "11", null);
    private static readonly byte[] Garbage = [0xff, 0xfe, 0x00, 0x13, 0x37, 0x0a, 0x0a, 0x00];

    [Fact]
    public void Dpkg_Status_KeepsInstalledPackagesWithSourceNameAndVersion()
    {
        var files = new ImageFilesBuilder().AddFixture("var/lib/dpkg/status", "catalogers/dpkg-status").Build();
        var warnings = new List<string>();

        var packages = new DpkgCataloger().Catalog(files, Bullseye, warnings);

        Assert.Empty(warnings);
        Assert.Equal(["bsdutils", "libssl1.1", "zlib1g", "tar"], packages.Select(p => p.Name));
        var bsdutils = packages[0];
        Assert.Equal(("1:2.36.1-8", "util-linux", "2.36.1-8"), (bsdutils.Version, bsdutils.SourceName, bsdutils.SourceVersion));
        Assert.Equal(("openssl", "1.1.1k-1"), (packages[1].SourceName, packages[1].SourceVersion)); // Source: without version
        Assert.Equal(("tar", "1.34+dfsg-1"), (packages[3].SourceName, packages[3].SourceVersion)); // no Source: the binary's own
        Assert.All(packages, p => Assert.Equal("Debian:11", p.Ecosystem));
        Assert.Equal("/var/lib/dpkg/status", bsdutils.Location.Path);
        Assert.Equal("pkg:deb/debian/bsdutils@1%3A2.36.1-8", bsdutils.Purl);
    }

    [Fact]
    public void Dpkg_StatusD_EntriesNeedNoStatusField()
    {
        var files = new ImageFilesBuilder()
            .AddFixture("var/lib/dpkg/status.d/base", "catalogers/status.d-base")
            .Add("var/lib/dpkg/status.d/base.md5sums", "d41d8cd98f00b204e9800998ecf8427e  etc/issue\n")
            .Build();

        var package = Assert.Single(new DpkgCataloger().Catalog(files, Bullseye, new List<string>()));

        Assert.Equal(("base-files", "11.1+deb11u5"), (package.Name, package.Version));
        Assert.Equal("/var/lib/dpkg/status.d/base", package.Location.Path);
    }

    [Fact]
    public void Apk_Installed_UsesTheOriginAsSource()
    {
        var files = new ImageFilesBuilder().AddFixture("lib/apk/db/installed", "catalogers/apk-installed").Build();

        var packages = new ApkCataloger().Catalog(files, new Distro("alpine", "3.11.6", null), new List<string>());

        Assert.Equal(["musl", "libcrypto1.1", "busybox"], packages.Select(p => p.Name));
        Assert.Equal(("openssl", "1.1.1d-r3"), (packages[1].SourceName, packages[1].SourceVersion));
        Assert.All(packages, p => Assert.Equal("Alpine:v3.11", p.Ecosystem));
    }

    [Fact]
    public void Python_MetadataAndPkgInfo_AreReadAndNamesNormalised()
    {
        var files = new ImageFilesBuilder()
            .AddFixture("usr/lib/python3/dist-packages/urllib3-1.26.16.dist-info/METADATA", "catalogers/METADATA")
            .AddFixture("usr/local/lib/python3.11/site-packages/Jinja2-2.10.egg-info/PKG-INFO", "catalogers/PKG-INFO")
            .Add("opt/venv/lib/python3.11/site-packages/Zope.Interface_Ext-5.0.egg-info", "Metadata-Version: 1.0\nName: Zope.Interface_Ext\nVersion: 5.0\n")
            .Build();

        var packages = new PythonCataloger().Catalog(files, null, new List<string>());

        Assert.Equal(
            [("zope-interface-ext", "5.0"), ("jinja2", "2.10"), ("urllib3", "1.26.16")],
            packages.Select(p => (p.Name, p.Version)).OrderBy(p => p.Name == "zope-interface-ext" ? 0 : p.Name == "jinja2" ? 1 : 2));
        Assert.All(packages, p => Assert.Equal("PyPI", p.Ecosystem));
    }

    [Fact]
    public void Npm_PackageJson_ScopedAndNested()
    {
        var files = new ImageFilesBuilder()
            .AddFixture("app/node_modules/lodash/package.json", "catalogers/package.json")
            .Add("app/node_modules/@babel/core/package.json", "{\"name\": \"@babel/core\", \"version\": \"7.22.0\"}")
            .Add("app/node_modules/a/node_modules/b/package.json", "{\"name\": \"b\", \"version\": \"1.0.0\"}")
            .Add("app/node_modules/lodash/fp/package.json", "{\"main\": \"../fp.js\"}")
            .Build();

        var packages = new NpmCataloger().Catalog(files, null, new List<string>());

        Assert.Equal(["@babel/core", "b", "lodash"], packages.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("pkg:npm/%40babel/core@7.22.0", packages.Single(p => p.Name == "@babel/core").Purl);
    }

    [Fact]
    public void Wants_SelectsOnlyTheFilesCatalogersRead()
    {
        Assert.True(DefaultCatalogers.Wanted("var/lib/dpkg/status"));
        Assert.True(DefaultCatalogers.Wanted("usr/lib/python3.11/site-packages/x-1.dist-info/METADATA"));
        Assert.True(DefaultCatalogers.Wanted("srv/node_modules/@scope/pkg/package.json"));
        Assert.True(DefaultCatalogers.Wanted("etc/os-release"));
        Assert.False(DefaultCatalogers.Wanted("srv/node_modules/pkg/lib/package.json"));
        Assert.False(DefaultCatalogers.Wanted("var/lib/dpkg/info/tar.list"));
        Assert.False(DefaultCatalogers.Wanted("usr/bin/python3"));
    }

    [Theory]
    [InlineData("var/lib/dpkg/status")]
    [InlineData("lib/apk/db/installed")]
    public void Scan_CorruptOsDatabase_IsIncompleteNotClean(string path)
    {
        var files = new ImageFilesBuilder().Add(path, Garbage).Build();

        var result = ImageScanner.Scan(files, AdvisoryDatabase.Empty("none"));

        Assert.Empty(result.Packages);
        Assert.Contains(result.Problems, p => p.Contains($"/{path} could not be read as a package database", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("usr/lib/python3/site-packages/x-1.dist-info/METADATA")]
    [InlineData("app/node_modules/x/package.json")]
    public void Catalog_CorruptLanguageMetadata_IsSkippedWithAWarning(string path)
    {
        var files = new ImageFilesBuilder().Add(path, Garbage).Build();
        var warnings = new List<string>();

        var packages = DefaultCatalogers.All.SelectMany(c => c.Catalog(files, Bullseye, warnings)).ToList();

        Assert.Empty(packages);
        Assert.Contains(warnings, w => w.Contains(path, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ID=debian\nVERSION_ID=\"11\"\nPRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\n", "Debian:11")]
    [InlineData("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.11.6\n", "Alpine:v3.11")]
    [InlineData("ID=ubuntu\nVERSION_ID=\"22.04\"\n", "Ubuntu:22.04:LTS")]
    [InlineData("ID=ubuntu\nVERSION_ID=\"23.10\"\n", "Ubuntu:23.10")]
    [InlineData("ID=fedora\nVERSION_ID=39\n", null)]
    public void Distro_OsRelease_GivesTheOsvEcosystem(string osRelease, string? ecosystem)
    {
        var distro = DistroReader.Read(new ImageFilesBuilder().Add("usr/lib/os-release", osRelease).Build());
        Assert.Equal(ecosystem, distro?.Ecosystem);
    }

    [Fact]
    public void Distro_AlpineReleaseOnly_IsEnough()
    {
        var distro = DistroReader.Read(new ImageFilesBuilder().Add("etc/alpine-release", "3.19.1\n").Build());
        Assert.Equal("Alpine:v3.19", distro?.Ecosystem);
    }
}
