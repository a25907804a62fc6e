using System.Text;
using Berth.Scanner.Catalogers.Npm;
using Berth.Scanner.Packages;
using Berth.Scanner.Tests.Json;

namespace Berth.Scanner.Tests.Catalogers;

/// <summary>
/// Installed packages (package.json in node_modules at any depth) and lockfile-only projects. Every file in an image is
/// written by whoever built it: each is read strictly, and a bad one is skipped with a warning.
/// </summary>
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

    private static (IReadOnlyList<Package> Packages, List<string> Warnings) Catalog(ImageFilesBuilder files)
    {
        var warnings = new List<string>();
        return (new NpmCataloger().Catalog(files.Build(), null, warnings), warnings);
    }

    private static string[] Ids(IEnumerable<Package> packages) =>
        [.. packages.Select(p => $"{p.Name}@{p.Version}").Order(StringComparer.Ordinal)];

    private static string PackageJson(string name, string version) => $"{{\"name\": \"{name}\", \"version\": \"{version}\"}}";

    [Theory]
    [InlineData("node_modules/ms/package.json", "ms")]
    [InlineData("app/node_modules/ms/package.json", "ms")]
    [InlineData("app/node_modules/debug/node_modules/ms/package.json", "ms")]
    [InlineData("app/node_modules/@types/ms/package.json", "@types/ms")]
    [InlineData("app/node_modules/@babel/core/node_modules/@babel/types/package.json", "@babel/types")]
    [InlineData("app/node_modules/a/node_modules/b/node_modules/c/node_modules/ms/package.json", "ms")]
    [InlineData("app/node_modules/.pnpm/ms@2.1.3/node_modules/ms/package.json", "ms")]
    [InlineData("usr/local/lib/node_modules/npm/package.json", "npm")]
    [InlineData("usr/local/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json", "@npmcli/arborist")]
    public void Catalog_InstalledPackageAtAnyDepth_IsFound(string path, string name)
    {
        var (packages, warnings) = Catalog(new ImageFilesBuilder().Add(path, PackageJson(name, "1.2.3")));

        Assert.True(new NpmCataloger().Wants(path));
        Assert.Empty(warnings);
        var package = Assert.Single(packages);
        Assert.Equal((name, "1.2.3", "/" + path, PackageEvidence.Installed), (package.Name, package.Version, package.Location.Path, package.Evidence));
    }

    [Theory]
    [InlineData("app/package.json")] // the project's own: not a dependency
    [InlineData("package.json")]
    [InlineData("app/node_modules/package.json")]
    [InlineData("app/node_modules/@types/package.json")]
    [InlineData("app/node_modules/lodash/fp/package.json")]
    [InlineData("app/node_modules/@babel/core/lib/package.json")]
    [InlineData("app/my_node_modules/x/package.json")]
    [InlineData("app/node_modules/x/package-lock.json")] // shipped inside a package: what it names is installed, and read, elsewhere
    [InlineData("app/node_modules/x/npm-shrinkwrap.json")]
    [InlineData("app/node_modules/.package-lock.json")]
    [InlineData("node_modules/x/node_modules/y/package-lock.json")]
    [InlineData("app/yarn.lock")]
    [InlineData("app/package-lock.json.bak")]
    [InlineData("")]
    public void Wants_NeitherAnInstalledPackageNorAProjectLockfile_IsNotKept(string path)
    {
        Assert.False(new NpmCataloger().Wants(path));
    }

    [Theory]
    [InlineData("package-lock.json")]
    [InlineData("app/package-lock.json")]
    [InlineData("srv/www/app/npm-shrinkwrap.json")]
    [InlineData("app/node_modules_cache/package-lock.json")]
    public void Wants_ProjectLockfile_IsKept(string path)
    {
        Assert.True(new NpmCataloger().Wants(path));
    }

    [Fact]
    public void Catalog_ProjectOwnPackageJson_IsNotADependency()
    {
        // Nothing wants app/package.json today; were the image reader to keep it, it is still not a package.
        var (packages, _) = Catalog(new ImageFilesBuilder()
            .AddFixture("app/package.json", "catalogers/npm/package.json")
            .Add("app/node_modules/ms/package.json", PackageJson("ms", "2.0.0")));

        Assert.Equal(["ms@2.0.0"], Ids(packages));
    }

    [Theory]
    [InlineData("package-lock-v1.json")]
    [InlineData("package-lock-v2.json")]
    [InlineData("package-lock-v3.json")]
    public void Catalog_LockfileWithoutNodeModules_GivesItsProductionPackages(string fixture)
    {
        var (packages, warnings) = Catalog(new ImageFilesBuilder()
            .AddFixture("app/package.json", "catalogers/npm/package.json")
            .AddFixture("app/package-lock.json", $"catalogers/npm/{fixture}"));

        Assert.Empty(warnings);
        // debug's nested ms 2.1.2 and the alias ms-legacy (ms 0.7.1) are in; the devDependency is-number and the project itself are not
        Assert.Equal(["@types/ms@0.7.34", "debug@4.3.4", "ms@0.7.1", "ms@2.0.0", "ms@2.1.2"], Ids(packages));
        Assert.All(packages, p => Assert.Equal((PackageEvidence.Lockfile, "/app/package-lock.json", "npm"), (p.Evidence, p.Location.Path, p.Ecosystem)));
        Assert.Equal("pkg:npm/%40types/ms@0.7.34", packages.Single(p => p.Name == "@types/ms").Purl);
    }

    [Fact]
    public void Catalog_LockfileWithWorkspaces_LeavesOutTheWorkspacesAndTheirLinks()
    {
        var (packages, warnings) = Catalog(new ImageFilesBuilder().AddFixture("srv/package-lock.json", "catalogers/npm/package-lock-v3-workspaces.json"));

        Assert.Empty(warnings);
        Assert.Equal(["ms@2.0.0", "ms@2.1.3"], Ids(packages)); // not @berth-demo/util (the project's own code), nor berth-monorepo
    }

    [Fact]
    public void Catalog_LockfileBesideInstalledNodeModules_AddsNothing()
    {
        var (packages, warnings) = Catalog(new ImageFilesBuilder()
            .AddFixture("app/package-lock.json", "catalogers/npm/package-lock-v3.json")
            .Add("app/node_modules/debug/package.json", PackageJson("debug", "4.3.4"))
            .Add("app/node_modules/debug/node_modules/ms/package.json", PackageJson("ms", "2.1.2"))
            .AddFixture("srv/other/package-lock.json", "catalogers/npm/package-lock-v3-workspaces.json"));

        Assert.Empty(warnings);
        Assert.Equal(
            ["debug@4.3.4 Installed", "ms@2.0.0 Lockfile", "ms@2.1.2 Installed", "ms@2.1.3 Lockfile"],
            packages.Select(p => $"{p.Name}@{p.Version} {p.Evidence}").Order(StringComparer.Ordinal));
        Assert.DoesNotContain(packages, p => p.Location.Path == "/app/package-lock.json");
    }

    [Fact]
    public void Catalog_RootLockfileBesideRootNodeModules_AddsNothing()
    {
        var (packages, _) = Catalog(new ImageFilesBuilder()
            .AddFixture("package-lock.json", "catalogers/npm/package-lock-v1.json")
            .Add("node_modules/ms/package.json", PackageJson("ms", "2.0.0")));

        Assert.Equal(["ms@2.0.0"], Ids(packages));
    }

    [Fact]
    public void Catalog_ShrinkwrapAndPackageLockTogether_ReadsOnlyTheShrinkwrap()
    {
        var (packages, _) = Catalog(new ImageFilesBuilder()
            .AddFixture("app/npm-shrinkwrap.json", "catalogers/npm/package-lock-v3.json")
            .Add("app/package-lock.json", "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/left-pad\": {\"version\": \"1.3.0\"}}}"));

        Assert.Equal(["@types/ms@0.7.34", "debug@4.3.4", "ms@0.7.1", "ms@2.0.0", "ms@2.1.2"], Ids(packages));
        Assert.All(packages, p => Assert.Equal("/app/npm-shrinkwrap.json", p.Location.Path));
    }

    [Fact]
    public void Catalog_LockfileInsideNodeModules_IsNotRead()
    {
        var (packages, _) = Catalog(new ImageFilesBuilder()
            .AddFixture("node_modules/tool/npm-shrinkwrap.json", "catalogers/npm/package-lock-v3.json")
            .Add("node_modules/tool/package.json", PackageJson("tool", "1.0.0")));

        Assert.Equal(["tool@1.0.0"], Ids(packages));
    }

    [Fact]
    public void Catalog_OneVersionAtManyPathsOfALockfile_IsOnePackage()
    {
        var (packages, _) = Catalog(new ImageFilesBuilder().Add("app/package-lock.json", """
            {"lockfileVersion": 3, "packages": {
              "": {"name": "app", "version": "1.0.0"},
              "node_modules/a": {"version": "1.0.0"},
              "node_modules/a/node_modules/ms": {"version": "2.1.2"},
              "node_modules/b/node_modules/ms": {"version": "2.1.2"},
              "node_modules/ms": {"version": "2.1.3"}
            }}
            """));

        Assert.Equal(["a@1.0.0", "ms@2.1.2", "ms@2.1.3"], Ids(packages));
    }

    [Fact]
    public void Catalog_LockfileV1_SkipsNonRegistryVersionsAndWholeDevSubtrees()
    {
        var (packages, warnings) = Catalog(new ImageFilesBuilder().Add("app/package-lock.json", """
            {"lockfileVersion": 1, "dependencies": {
              "from-git": {"version": "git+ssh://git@example.invalid/x.git#0123abc"},
              "from-file": {"version": "file:../local"},
              "scoped-alias": {"version": "npm:@scope/real@2.0.0"},
              "jest": {"version": "29.0.0", "dev": true, "dependencies": {"only-jest-uses-me": {"version": "1.0.0"}}},
              "express": {"version": "4.18.2", "dependencies": {"ms": {"version": "2.0.0", "bundled": true}}}
            }}
            """));

        Assert.Empty(warnings);
        Assert.Equal(["@scope/real@2.0.0", "express@4.18.2", "ms@2.0.0"], Ids(packages));
    }

    public static TheoryData<string, string, string[]> MalformedLockfiles => new()
    {
        { "not json", "not valid JSON", [] },
        { "[]", "not a JSON object", [] },
        { "{\"lockfileVersion\": 3, \"packages\": \"node_modules/a\"}", "not an object", [] },
        { "{\"lockfileVersion\": 1, \"dependencies\": [1, 2]}", "not an object", [] },
        { "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\": 1, \"node_modules/b\": {\"version\": \"1.0.0\"}}}", "1 entries", ["b@1.0.0"] },
        { "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\": {\"version\": 1}}}", "1 entries", [] },
        { "{\"lockfileVersion\": 3, \"packages\": {\"node_modules\": {\"version\": \"1.0.0\"}}}", "1 entries", [] },
        { "{\"lockfileVersion\": 1, \"dependencies\": {\"a\": {\"version\": null}, \"b\": {\"version\": \"2.0.0\"}}}", "1 entries", ["b@2.0.0"] },
        { "{\"lockfileVersion\": 3, \"packages\": {}, \"packages\": {\"node_modules/a\": {\"version\": \"1.0.0\"}}}", "appears twice", [] },
        { "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/\\ud800\": {\"version\": \"1.0.0\"}}}", "not valid Unicode", [] },
        { "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\": {\"version\": \"1.0.0\",}}}", "not valid JSON", [] },
        { "{\"packages\": {\"node_modules/a\": {\"version\": \"1.0.0\"}}}", "no lockfileVersion", ["a@1.0.0"] },
        { "{\"lockfileVersion\": \"3\", \"packages\": {\"node_modules/a\": {\"version\": \"1.0.0\"}}}", "no lockfileVersion", ["a@1.0.0"] },
        { "{\"lockfileVersion\": 9, \"packages\": {\"node_modules/a\": {\"version\": \"1.0.0\"}}}", "no lockfileVersion", ["a@1.0.0"] },
    };

    [Theory]
    [MemberData(nameof(MalformedLockfiles))]
    public void Catalog_MalformedLockfile_WarnsAndKeepsWhatIsReadable(string json, string warning, string[] expected)
    {
        var (packages, warnings) = Catalog(new ImageFilesBuilder()
            .Add("app/package-lock.json", json)
            .Add("srv/node_modules/good/package.json", PackageJson("good", "1.0.0")));

        Assert.Equal(expected.Append("good@1.0.0").Order(StringComparer.Ordinal), Ids(packages));
        var line = Assert.Single(warnings);
        Assert.Contains("/app/package-lock.json", line, StringComparison.Ordinal);
        Assert.Contains(warning, line, StringComparison.Ordinal);
    }

    /// <summary>A v1 lockfile whose dependencies nest <paramref name="levels"/> deep, each level a new package.</summary>
    private static string NestedV1(int levels)
    {
        var json = new StringBuilder("{\"lockfileVersion\": 1, \"dependencies\": ");
        for (var i = 0; i < levels; i++)
        {
            json.Append($"{{\"p{i}\": {{\"version\": \"1.0.0\", \"dependencies\": ");
        }
        json.Append("{}");
        json.Insert(json.Length, "}}", levels);
        return json.Append('}').ToString();
    }

    [Fact]
    public void Catalog_LockfileV1NestedWithinTheDepthLimit_IsReadToTheBottom()
    {
        var (packages, warnings) = Catalog(new ImageFilesBuilder().Add("app/package-lock.json", NestedV1(30)));

        Assert.Empty(warnings);
        Assert.Equal(30, packages.Count);
        Assert.Contains(packages, p => p.Name == "p29");
    }

    [Theory]
    [InlineData("v1-dependencies")]
    [InlineData("arrays-in-an-entry")]
    [InlineData("objects-in-an-entry")]
    public void Catalog_HostileDeepLockfile_IsRefusedWithAWarningNotAnException(string shape)
    {
        const int levels = 100_000;
        var json = shape switch
        {
            "v1-dependencies" => NestedV1(levels),
            "arrays-in-an-entry" => $"{{\"lockfileVersion\": 3, \"packages\": {{\"node_modules/a\": {{\"version\": \"1.0.0\", \"x\": {new string('[', levels)}{new string(']', levels)}}}}}}}",
            _ => $"{{\"lockfileVersion\": 3, \"packages\": {{\"node_modules/a\": {{\"version\": \"1.0.0\", \"x\": {string.Concat(Enumerable.Repeat("{\"k\":", levels))}0{new string('}', levels)}}}}}}}",
        };

        var (packages, warnings) = Catalog(new ImageFilesBuilder().Add("app/package-lock.json", json));

        Assert.Empty(packages);
        Assert.Contains("not valid JSON", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_LockfileWithAHugeArray_IsReadInOnePass()
    {
        var zeros = string.Join(',', Enumerable.Repeat("0", 1_000_000));
        var json = $"{{\"lockfileVersion\": 3, \"packages\": {{\"node_modules/a\": {{\"version\": \"1.0.0\", \"x\": [{zeros}]}}, \"node_modules/b\": {{\"version\": \"2.0.0\"}}}}}}";

        var (packages, warnings) = Catalog(new ImageFilesBuilder().Add("app/package-lock.json", json));

        Assert.Empty(warnings);
        Assert.Equal(["a@1.0.0", "b@2.0.0"], Ids(packages));
    }

    [Fact]
    public void Catalog_LockfileNamingTooManyPackages_KeepsTheFirstAndWarns()
    {
        var entries = Enumerable.Range(0, NpmCataloger.MaxLockfilePackages + 10).Select(i => $"\"node_modules/p{i}\": {{\"version\": \"1.0.0\"}}");
        var json = $"{{\"lockfileVersion\": 3, \"packages\": {{{string.Join(',', entries)}}}}}";

        var (packages, warnings) = Catalog(new ImageFilesBuilder().Add("app/package-lock.json", json));

        Assert.Equal(NpmCataloger.MaxLockfilePackages, packages.Count);
        Assert.Equal("p0", packages[0].Name);
        Assert.Contains("more than", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_GeneratedLockfiles_NeverThrowAndKeepOnlyWellFormedOnes()
    {
        // The sample sits three levels down (root, packages, entry): generated past depth 61, it is past the limit of 64.
        var json = new HostileJson(seed: 4242, maxDepth: 61);
        for (var i = 0; i < 1000; i++)
        {
            var sample = json.Next();
            var random = i % 7 == 0;
            byte[] content = random ? json.Bytes(300)
                : [.. "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/x\": {\"version\": \"1.0.0\", \"body\": "u8, .. sample.Utf8, .. "}}}"u8];

            var (packages, warnings) = Catalog(new ImageFilesBuilder().Add("app/package-lock.json", content));

            if (random)
            {
                Assert.NotEmpty(warnings); // random bytes are never a lockfile
            }
            else
            {
                var wellFormed = sample.Defect == JsonDefect.None;
                Assert.Equal(wellFormed ? ["x@1.0.0"] : [], Ids(packages));
                Assert.Equal(wellFormed ? 0 : 1, warnings.Count);
            }
        }
    }

    [Fact]
    public void Wants_CalledForEveryLayerEntry_AllocatesNothing()
    {
        var cataloger = new NpmCataloger();
        string[] paths =
        [
            "usr/bin/node", "app/package.json", "app/node_modules/a/package.json", "app/node_modules/@s/b/package.json",
            "app/node_modules/a/lib/package.json", "app/package-lock.json", "app/node_modules/a/package-lock.json", "srv/npm-shrinkwrap.json",
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
