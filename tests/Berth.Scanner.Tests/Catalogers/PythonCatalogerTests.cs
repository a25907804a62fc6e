using Berth.Scanner.Catalogers.Python;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Tests.Catalogers;

/// <summary>Every layout pip, setuptools and distro packages leave in site-packages/dist-packages, each distribution counted once.</summary>
public sealed class PythonCatalogerTests
{
    private const string Fixture = "fixture:";
    private const string Site = "usr/local/lib/python3.11/site-packages";
    private static readonly byte[] Garbage = [0xff, 0xfe, 0x00, 0x13, 0x37, 0x0a, 0x0a, 0x00];

    private static string Headers(string name, string version) =>
        $"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: s\n\nName: not-a-header\nVersion: 9.9.9\n";

    private static string Record(string distInfo) =>
        $"{distInfo}/INSTALLER,sha256=zuuue4knoyJ-UwPPXg8fezS7VCrXJQrAP7zeNuwvFQg,4\n{distInfo}/RECORD,,\n";

    private static (IReadOnlyList<Package> Packages, List<string> Warnings) Catalog(ImageFilesBuilder files)
    {
        var warnings = new List<string>();
        return (new PythonCataloger().Catalog(files.Build(), null, warnings), warnings);
    }

    public static TheoryData<string, string, string, string> Layouts => new()
    {
        // path, content (inline or fixture:<file under testdata/catalogers>), name, version
        { $"{Site}/requests-2.31.0.dist-info/METADATA", Headers("requests", "2.31.0"), "requests", "2.31.0" },
        { "opt/venv/lib/python3.12/site-packages/Flask-3.0.0.dist-info/METADATA", Headers("Flask", "3.0.0"), "flask", "3.0.0" },
        { "app/.venv/lib/python3.11/site-packages/urllib3-1.26.16.dist-info/METADATA", Fixture + "catalogers/METADATA", "urllib3", "1.26.16" },
        { "root/.local/lib/python3.11/site-packages/ruamel.yaml-0.18.5.dist-info/METADATA", Headers("ruamel.yaml", "0.18.5"), "ruamel-yaml", "0.18.5" },
        { "usr/lib/python3/dist-packages/Jinja2-2.10.egg-info/PKG-INFO", Fixture + "catalogers/PKG-INFO", "jinja2", "2.10" },
        { "usr/lib/python3/dist-packages/six-1.16.0.egg-info", Headers("six", "1.16.0"), "six", "1.16.0" },
        { "usr/local/lib/python2.7/site-packages/kitchen-1.2.6-py2.7.egg/EGG-INFO/PKG-INFO", Headers("kitchen", "1.2.6"), "kitchen", "1.2.6" },
        // vendored inside another distribution: still importable code, found by Trivy and Grype too
        { $"{Site}/setuptools/_vendor/wheel-0.43.0.dist-info/METADATA", Headers("wheel", "0.43.0"), "wheel", "0.43.0" },
        // a RECORD and no METADATA: the directory name, PEP 427/491 escaped
        { $"{Site}/typing_extensions-4.15.0.dist-info/RECORD", Fixture + "catalogers/python/typing_extensions-4.15.0-RECORD", "typing-extensions", "4.15.0" },
        { $"{Site}/zope.interface-6.1.dist-info/RECORD", Record("zope.interface-6.1.dist-info"), "zope-interface", "6.1" },
        { $"{Site}/Django_Filter-23.5.dist-info/RECORD", Record("Django_Filter-23.5.dist-info"), "django-filter", "23.5" },
        { $"{Site}/torch-2.2.0+cpu.dist-info/RECORD", Record("torch-2.2.0+cpu.dist-info"), "torch", "2.2.0+cpu" },
        { $"{Site}/pyzmq-25.1.2.post1.dist-info/RECORD", Record("pyzmq-25.1.2.post1.dist-info"), "pyzmq", "25.1.2.post1" },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Catalog_EachLayout_GivesOneNormalisedPyPIPackage(string path, string content, string name, string version)
    {
        var files = new ImageFilesBuilder();
        if (content.StartsWith(Fixture, StringComparison.Ordinal))
        {
            files.AddFixture(path, content[Fixture.Length..]);
        }
        else
        {
            files.Add(path, content);
        }

        var (packages, warnings) = Catalog(files);

        Assert.True(new PythonCataloger().Wants(path));
        Assert.Empty(warnings);
        var package = Assert.Single(packages);
        Assert.Equal((name, version, "PyPI", "/" + path), (package.Name, package.Version, package.Ecosystem, package.Location.Path));
        Assert.Equal(PackageEvidence.Installed, package.Evidence);
        Assert.Equal($"pkg:pypi/{Uri.EscapeDataString(name)}@{Uri.EscapeDataString(version)}", package.Purl);
    }

    [Theory]
    [InlineData("usr/lib/python3.11/site-packages/x-1.dist-info/METADATA", true)]
    [InlineData("site-packages/x-1.dist-info/METADATA", true)]
    [InlineData("usr/lib/python3/dist-packages/x-1.dist-info/RECORD", true)]
    [InlineData("usr/lib/python3/dist-packages/x.egg-info/PKG-INFO", true)]
    [InlineData("usr/lib/python3/dist-packages/x.egg-info", true)]
    [InlineData("usr/lib/python3/dist-packages/x-1-py3.egg/EGG-INFO/PKG-INFO", true)]
    [InlineData("usr/lib/python3/dist-packages/a/b/c/x-1.dist-info/METADATA", true)]
    [InlineData("usr/lib/python3/dist-packages/x-1.dist-info/WHEEL", false)]
    [InlineData("usr/lib/python3/dist-packages/x-1.dist-info/METADATA.orig", false)]
    [InlineData("usr/lib/python3/dist-packages/x-1.dist-info/sub/METADATA", false)]
    [InlineData("usr/lib/python3/dist-packages/.dist-info/METADATA", false)] // no name
    [InlineData("usr/lib/python3/dist-packages/x.egg-info/RECORD", false)]
    [InlineData("usr/lib/python3/dist-packages/x.dist-info/PKG-INFO", false)]
    [InlineData("usr/lib/python3/dist-packages/EGG-INFO/PKG-INFO", false)] // not inside an .egg
    [InlineData("usr/lib/python3/dist-packages/METADATA", false)]
    [InlineData("usr/lib/python3/dist-packages/RECORD", false)]
    [InlineData("usr/lib/python2.7/wsgiref.egg-info", false)] // the standard library's, outside site-packages
    [InlineData("app/src/myproject.egg-info/PKG-INFO", false)] // a source tree, not an install
    [InlineData("usr/lib/my-site-packages/x-1.dist-info/METADATA", false)]
    [InlineData("usr/lib/site-packages.bak/x-1.dist-info/METADATA", false)]
    [InlineData("x-1.dist-info/METADATA", false)]
    [InlineData("METADATA", false)]
    [InlineData("", false)]
    public void Wants_KeepsMetadataBelowSiteOrDistPackagesOnly(string path, bool wanted)
    {
        Assert.Equal(wanted, new PythonCataloger().Wants(path));
    }

    [Fact]
    public void Catalog_MetadataAndRecordInOneDistInfo_CountsTheDistributionOnce()
    {
        const string dir = $"{Site}/typing_extensions-4.15.0.dist-info";
        var (packages, warnings) = Catalog(new ImageFilesBuilder()
            .Add($"{dir}/METADATA", Headers("typing_extensions", "4.15.0"))
            .AddFixture($"{dir}/RECORD", "catalogers/python/typing_extensions-4.15.0-RECORD")
            .Add($"{Site}/six-1.17.0.dist-info/RECORD", Record("six-1.17.0.dist-info")));

        Assert.Empty(warnings);
        Assert.Equal(
            [("six", "1.17.0", $"/{Site}/six-1.17.0.dist-info/RECORD"), ("typing-extensions", "4.15.0", $"/{dir}/METADATA")],
            packages.Select(p => (p.Name, p.Version, p.Location.Path)).Order());
    }

    [Fact]
    public void Catalog_MetadataGoneFromAnUpperLayer_TheRecordStillCounts()
    {
        // The image reader drops a file a later layer deleted or that is over its size cap: the RECORD is the evidence left.
        var (packages, _) = Catalog(new ImageFilesBuilder()
            .Add($"{Site}/fonttools-4.47.0.dist-info/RECORD", Record("fonttools-4.47.0.dist-info"), layer: "sha256:layer2"));

        var package = Assert.Single(packages);
        Assert.Equal(("fonttools", "4.47.0", "sha256:layer2"), (package.Name, package.Version, package.Location.Layer));
    }

    [Fact]
    public void Catalog_SameDistributionInTwoEnvironments_CountsEach()
    {
        var (packages, _) = Catalog(new ImageFilesBuilder()
            .Add($"{Site}/idna-3.6.dist-info/METADATA", Headers("idna", "3.6"))
            .Add("opt/venv/lib/python3.11/site-packages/idna-3.4.dist-info/METADATA", Headers("idna", "3.4")));

        Assert.Equal(["3.4", "3.6"], packages.Select(p => p.Version).Order());
    }

    [Theory]
    [InlineData($"{Site}/x-1.0.dist-info/RECORD", "not a RECORD")]
    [InlineData($"{Site}/x-1.0.dist-info/METADATA", "no Name or Version")]
    [InlineData($"{Site}/x.egg-info/PKG-INFO", "no Name or Version")]
    [InlineData($"{Site}/x-1.0-py3.11.egg/EGG-INFO/PKG-INFO", "no Name or Version")]
    [InlineData($"{Site}/x-1.0.egg-info", "no Name or Version")]
    public void Catalog_CorruptFile_IsSkippedWithAWarning(string path, string warning)
    {
        var (packages, warnings) = Catalog(new ImageFilesBuilder().Add(path, Garbage).Add($"{Site}/ok-1.dist-info/METADATA", Headers("ok", "1")));

        Assert.Equal(["ok"], packages.Select(p => p.Name));
        var line = Assert.Single(warnings);
        Assert.Contains("/" + path, line, StringComparison.Ordinal);
        Assert.Contains(warning, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("noversion.dist-info")]
    [InlineData("-1.0.dist-info")]
    [InlineData("name-.dist-info")]
    public void Catalog_RecordOnlyWithoutNameVersionDirectory_IsSkippedWithAWarning(string distInfo)
    {
        var path = $"{Site}/{distInfo}/RECORD";
        var (packages, warnings) = Catalog(new ImageFilesBuilder().Add(path, Record(distInfo)));

        Assert.Empty(packages);
        Assert.Contains("name-version", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void Wants_VeryLongPaths_AreClassifiedSegmentBySegment()
    {
        var deep = string.Concat(Enumerable.Repeat("site-packagesx/", 20_000)) + "a.dist-info/METADATA";
        var deepWanted = string.Concat(Enumerable.Repeat("a-b.c_d/", 20_000)) + "site-packages/a-1.dist-info/METADATA";

        Assert.False(new PythonCataloger().Wants(deep));
        Assert.True(new PythonCataloger().Wants(deepWanted));
    }

    [Fact]
    public void Wants_CalledForEveryLayerEntry_AllocatesNothing()
    {
        var cataloger = new PythonCataloger();
        string[] paths =
        [
            "usr/bin/python3", "usr/share/doc/METADATA", $"{Site}/x-1.dist-info/METADATA", $"{Site}/x-1.dist-info/RECORD",
            $"{Site}/x-1.dist-info/WHEEL", $"{Site}/x.egg-info", $"{Site}/x.egg/EGG-INFO/PKG-INFO", "app/x.egg-info/PKG-INFO",
        ];
        foreach (var path in paths)
        {
            cataloger.Wants(path); // compiled before measuring
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var wanted = 0;
        for (var i = 0; i < 1000; i++)
        {
            foreach (var path in paths)
            {
                wanted += cataloger.Wants(path) ? 1 : 0;
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(4000, wanted);
    }
}
