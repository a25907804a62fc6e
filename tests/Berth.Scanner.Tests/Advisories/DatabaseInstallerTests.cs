using Berth.Scanner.Advisories;

namespace Berth.Scanner.Tests.Advisories;

/// <summary>Verify-then-swap: the database folder is replaced whole or not at all.</summary>
public sealed class DatabaseInstallerTests : IDisposable
{
    private static readonly DatabaseMetadata First = new("test:first", DateTimeOffset.Parse("2026-01-02T00:00:00Z"), DateTimeOffset.Parse("2026-01-01T00:00:00Z"));

    private readonly TempFolder _temp = new("berth-install-");

    public void Dispose() => _temp.Dispose();

    private string Folder => _temp["vulndb"];

    private async Task InstallFirstAsync() =>
        await DatabaseInstaller.InstallAsync(Folder, (staging, _) =>
        {
            OsvFiles.Write(Path.Combine(staging, "PyPI", "PYSEC-1.json"), OsvFiles.Record("PYSEC-1"));
            OsvFiles.Write(Path.Combine(staging, "PyPI", "PYSEC-2.json"), OsvFiles.Record("PYSEC-2", name: "other"));
            return Task.FromResult(First);
        }, CancellationToken.None);

    /// <summary>Every file under the parent folder with its content: what must not change when an install fails.</summary>
    private string Snapshot() => string.Join("\n", Directory.EnumerateFileSystemEntries(_temp.Path, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal)
        .Select(p => File.Exists(p) ? $"{Path.GetRelativePath(_temp.Path, p)} {Convert.ToHexString(File.ReadAllBytes(p))}" : Path.GetRelativePath(_temp.Path, p)));

    [Fact]
    public async Task InstallAsync_FillWithRecords_InstallsTheDataAndItsMetadata()
    {
        var result = await DatabaseInstaller.InstallAsync(Folder, (staging, _) =>
        {
            OsvFiles.Write(Path.Combine(staging, "PyPI", "PYSEC-1.json"), OsvFiles.Record("PYSEC-1"));
            OsvFiles.Zip(Path.Combine(staging, "Debian", "all.zip"), OsvFiles.Record("DSA-1", ecosystem: "Debian:11"), OsvFiles.Record("DSA-2", ecosystem: "Debian:12"));
            return Task.FromResult(First);
        }, CancellationToken.None);

        Assert.Equal(Path.GetFullPath(Folder), result.Folder);
        Assert.Equal(First, result.Metadata);
        Assert.Equal(new Dictionary<string, int> { ["Debian"] = 2, ["PyPI"] = 1 }, result.Records);
        Assert.Equal(0, result.Skipped);
        var db = AdvisoryDatabase.Load(Folder);
        Assert.Equal(3, db.Records);
        Assert.Equal(First, db.Metadata);
        Assert.True(File.Exists(Path.Combine(Folder, AdvisoryDatabase.MetadataFile)));
        Assert.Equal(["vulndb"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task InstallAsync_FillThrows_LeavesTheOldFolderUntouchedAndNoStaging()
    {
        await InstallFirstAsync();
        var before = Snapshot();
        string? staged = null;

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => DatabaseInstaller.InstallAsync(Folder, (staging, _) =>
        {
            staged = staging;
            OsvFiles.Write(Path.Combine(staging, "PyPI", "PYSEC-9.json"), OsvFiles.Record("PYSEC-9"));
            throw new HttpRequestException("connection reset");
        }, CancellationToken.None));

        Assert.Equal("connection reset", e.Message);
        Assert.Equal(before, Snapshot());
        Assert.StartsWith(_temp.Path, staged, StringComparison.Ordinal); // staged beside the target, so the swap is a rename
        Assert.False(Directory.Exists(staged));
    }

    [Theory]
    [InlineData("nothing")]
    [InlineData("broken records")]
    [InlineData("record without affected")]
    public async Task InstallAsync_FillYieldsNoReadableRecord_IsRefusedAndTheOldFolderStays(string fill)
    {
        await InstallFirstAsync();
        var before = Snapshot();

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DatabaseInstaller.InstallAsync(Folder, (staging, _) =>
        {
            if (fill == "broken records")
            {
                OsvFiles.Write(Path.Combine(staging, "a.json"), "{ not json");
                OsvFiles.Write(Path.Combine(staging, "b.zip"), "not a zip");
            }
            else if (fill == "record without affected")
            {
                OsvFiles.Write(Path.Combine(staging, "a.json"), "{\"id\":\"X-1\",\"affected\":[]}");
            }
            return Task.FromResult(new DatabaseMetadata("test:bad", null, null));
        }, CancellationToken.None));

        Assert.StartsWith("the new data holds no readable OSV record", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("the database was left as it was", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot());
        Assert.Equal(First, AdvisoryDatabase.Load(Folder).Metadata);
    }

    [Fact]
    public async Task InstallAsync_Canceled_LeavesTheOldFolderUntouched()
    {
        await InstallFirstAsync();
        var before = Snapshot();
        using var cts = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DatabaseInstaller.InstallAsync(Folder, async (staging, ct) =>
        {
            OsvFiles.Write(Path.Combine(staging, "PyPI", "PYSEC-9.json"), OsvFiles.Record("PYSEC-9"));
            await cts.CancelAsync();
            ct.ThrowIfCancellationRequested();
            return First;
        }, cts.Token));

        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task InstallAsync_SecondInstall_ReplacesTheWholeFolder()
    {
        await InstallFirstAsync();
        var second = new DatabaseMetadata("test:second", null, null);

        await DatabaseInstaller.InstallAsync(Folder, (staging, _) =>
        {
            OsvFiles.Write(Path.Combine(staging, "Go", "GO-1.json"), OsvFiles.Record("GO-1", ecosystem: "Go"));
            return Task.FromResult(second);
        }, CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(Folder, "PyPI")), "data of the old install survived");
        var db = AdvisoryDatabase.Load(Folder);
        Assert.Equal((1, "test:second"), (db.Records, db.Metadata.Source));
        Assert.Equal(["vulndb"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName)); // no .old- or staging folder left
    }

    [Fact]
    public void HasData_OnlyRecordsOrZipsCount()
    {
        Assert.False(DatabaseInstaller.HasData(Folder));
        Directory.CreateDirectory(Folder);
        Assert.False(DatabaseInstaller.HasData(Folder));
        First.Write(Folder);
        OsvFiles.Write(Path.Combine(Folder, "README.md"), "not data");
        Assert.False(DatabaseInstaller.HasData(Folder));

        OsvFiles.Write(Path.Combine(Folder, "deep", "er", "X-1.JSON"), OsvFiles.Record("X-1"));

        Assert.True(DatabaseInstaller.HasData(Folder));
    }
}
