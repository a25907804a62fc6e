using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using Berth.Cli.Contexts;
using Berth.Cli.Tests.Infrastructure;
using Berth.Cli.Tests.Jobs;

namespace Berth.Cli.Tests.Contexts;

/// <summary>A directory packed as a build context: what .dockerignore leaves out, links kept as links, and what is refused.</summary>
[Collection(CliServerCollection.Name)]
public sealed class ContextPackerTests(CliServer server) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-cli-context-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Write(string relative, string text = "x")
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public async Task Submit_ADirectory_SendsWhatDockerignoreKeeps_AndLinksAsLinks()
    {
        Write("Dockerfile", "FROM busybox:latest\nCOPY . /app\n");
        Write(".dockerignore", "# build output and secrets\n*.log\n!keep.log\nsecrets/\nbuild/**/*.o\ndocs\n!docs/README.md\n");
        Write("app.py", "print('hi')\n");
        Write("debug.log");
        Write("keep.log", "kept\n");
        Write("secrets/key.pem");
        Write("build/x/y.o");
        Write("build/x/y.c", "int main;\n");
        Write("docs/README.md", "docs\n");
        Write("docs/internal.md");
        File.CreateSymbolicLink(Path.Combine(_dir, "main.py"), "app.py");
        File.CreateSymbolicLink(Path.Combine(_dir, "build", "x", "up.c"), "../../app.py");
        var name = "dir-" + Guid.NewGuid().ToString("N")[..8];

        var result = await CliRun.RunAsync(server.Url, "submit", _dir, "--name", name);

        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        var entries = await JobCommandsTests.ContextEntriesAsync(server, (await server.WaitForNamedAsync(name)).Id);
        Assert.Equal(
            [".dockerignore", "app.py", "build", "build/x", "build/x/up.c", "build/x/y.c", "docs/README.md", "keep.log", "main.py", "Dockerfile"],
            entries.Keys);
        Assert.Equal("print('hi')\n", entries["app.py"]);
        Assert.Equal("-> app.py", entries["main.py"]);
        Assert.Equal("-> ../../app.py", entries["build/x/up.c"]);
        Assert.Equal("kept\n", entries["keep.log"]);
        Assert.Equal("FROM busybox:latest\nCOPY . /app\n", entries["Dockerfile"]);
    }

    [Fact]
    public async Task Submit_ADockerfileWithItsOwnIgnoreFile_UsesItOverTheContexts()
    {
        Write("ctx/.dockerignore", "*.txt\n");
        Write("ctx/a.txt");
        Write("ctx/b.bin");
        Write("df/Dockerfile", "FROM busybox:latest\n");
        Write("df/Dockerfile.dockerignore", "*.bin\n");
        var name = "own-ignore-" + Guid.NewGuid().ToString("N")[..8];

        var result = await CliRun.RunAsync(server.Url, "submit", Path.Combine(_dir, "df", "Dockerfile"), "--context", Path.Combine(_dir, "ctx"), "--name", name);

        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        var entries = await JobCommandsTests.ContextEntriesAsync(server, (await server.WaitForNamedAsync(name)).Id);
        Assert.Equal([".dockerignore", "a.txt", "Dockerfile"], entries.Keys);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../outside")]
    [InlineData("sub/../../outside")]
    public async Task Submit_ALinkOutTheDirectory_IsRefusedBeforeAnythingIsSent(string target)
    {
        Write("Dockerfile", "FROM busybox:latest\n");
        File.CreateSymbolicLink(Path.Combine(_dir, "escape"), target);
        var before = (await server.Store.ListAsync(null, null, 100, null, CancellationToken.None)).Count;

        var result = await CliRun.RunAsync(server.Url, "submit", _dir);

        Assert.Equal(BerthCommands.Error, result.Exit);
        Assert.Contains($"'escape' in the context is a link to '{target}', outside the context directory", result.Err, StringComparison.Ordinal);
        Assert.Contains(".dockerignore", result.Err, StringComparison.Ordinal);
        Assert.Equal(before, (await server.Store.ListAsync(null, null, 100, null, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Submit_AnIgnoredLinkOutTheDirectory_IsLeftOut()
    {
        Write("Dockerfile", "FROM busybox:latest\n");
        Write(".dockerignore", "escape\n");
        File.CreateSymbolicLink(Path.Combine(_dir, "escape"), "/etc/passwd");
        var name = "ignored-link-" + Guid.NewGuid().ToString("N")[..8];

        var result = await CliRun.RunAsync(server.Url, "submit", _dir, "--name", name);

        Assert.True(result.Exit == BerthCommands.Pass, result.Err);
        var entries = await JobCommandsTests.ContextEntriesAsync(server, (await server.WaitForNamedAsync(name)).Id);
        Assert.DoesNotContain("escape", entries.Keys);
    }

    [Fact]
    public void Pack_AFifo_IsRefusedWithoutBlocking()
    {
        Write("Dockerfile", "FROM busybox:latest\n");
        using (var mkfifo = Process.Start("mkfifo", Path.Combine(_dir, "pipe")))
        {
            mkfifo.WaitForExit();
        }

        var error = Assert.Throws<ContextRefusedException>(() => ContextPacker.Pack(_dir, DockerIgnore.Empty, new MemoryStream()));

        Assert.Contains("'pipe' in the context is a FIFO", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pack_ADirectory_KeepsModesAndOwnsEverythingAsRoot()
    {
        Write("run.sh", "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(_dir, "run.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var packed = new MemoryStream();

        ContextPacker.Pack(_dir, DockerIgnore.Empty, packed);

        packed.Position = 0;
        using var reader = new TarReader(new GZipStream(packed, CompressionMode.Decompress));
        var entry = reader.GetNextEntry()!;
        Assert.Equal("run.sh", entry.Name);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, entry.Mode);
        Assert.Equal(0, entry.Uid);
        Assert.Equal(0, entry.Gid);
    }
}
