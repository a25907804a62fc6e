using Berth.Cli.Contexts;

namespace Berth.Cli.Tests.Contexts;

/// <summary>.dockerignore matching, case by case as moby's patternmatcher decides them.</summary>
public sealed class DockerIgnoreTests
{
    public static TheoryData<string, string, bool> Cases => new()
    {
        // plain names match at the root only, and everything under a matched directory
        { "secret.txt", "secret.txt", true },
        { "secret.txt", "sub/secret.txt", false },
        { "node_modules", "node_modules/a/b.js", true },
        { "/build", "build/out.o", true },
        { "./build/", "build/out.o", true },
        // * and ? stay inside one path part
        { "*.log", "debug.log", true },
        { "*.log", "logs/debug.log", false },
        { "*/*.log", "logs/debug.log", true },
        { "file?.txt", "file1.txt", true },
        { "file?.txt", "file10.txt", false },
        { "file?.txt", "file/.txt", false },
        // ** spans any number of directories, none included
        { "**/*.log", "debug.log", true },
        { "**/*.log", "a/b/c/debug.log", true },
        { "a/**/z", "a/z", true },
        { "a/**/z", "a/b/c/z", true },
        { "a/**", "a/b/c", true },
        { "a/**", "b/a/c", false },
        // classes and escapes
        { "[ab].txt", "a.txt", true },
        { "[ab].txt", "c.txt", false },
        { "[!ab].txt", "c.txt", true },
        { @"\*.txt", "*.txt", true },
        { @"\*.txt", "a.txt", false },
        { "a.b", "axb", false },
        // comments and blank lines are not patterns
        { "# debug.log", "# debug.log", false },
        // the last match wins; ! takes back
        { "*.md\n!README.md", "README.md", false },
        { "*.md\n!README.md", "CHANGES.md", true },
        { "*.md\n!README.md\nREADME*", "README.md", true },
        { "docs\n!docs/keep.txt", "docs/keep.txt", false },
        { "docs\n!docs/keep.txt", "docs/other.txt", true },
        { "  spaced.txt  ", "spaced.txt", true },
        { "a/../b", "b", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Ignores_Pattern_MatchesAsDockerDoes(string dockerignore, string path, bool ignored) =>
        Assert.Equal(ignored, DockerIgnore.Parse(dockerignore).Ignores(path));

    [Fact]
    public void Parse_SetItCannotRead_IsRefusedNamingTheLine()
    {
        var refused = Assert.Throws<ContextRefusedException>(() => DockerIgnore.Parse("# build output\nbin/\nfile[z-a].txt\n"));

        Assert.Contains(".dockerignore line 3: 'file[z-a].txt'", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MayIncludeUnder_AnExceptionBelowAnIgnoredDirectory_WalksIt()
    {
        var rules = DockerIgnore.Parse("docs\nvendor\n!docs/keep.txt");

        Assert.True(rules.MayIncludeUnder("docs"));
        Assert.False(rules.MayIncludeUnder("vendor"));
        Assert.False(DockerIgnore.Parse("docs").MayIncludeUnder("docs"));
    }
}
