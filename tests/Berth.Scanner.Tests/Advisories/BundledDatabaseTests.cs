using System.Text.Json;
using Berth.Scanner.Advisories;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Scanner.Tests.Advisories;

/// <summary>The snapshot built into the library, installed where no database is.</summary>
public sealed class BundledDatabaseTests : IDisposable
{
    private readonly TempFolder _temp = new("berth-bundled-");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 15, 8, 30, 0, TimeSpan.Zero));

    public void Dispose() => _temp.Dispose();

    private string Folder => _temp["data/vulndb"];

    [Fact]
    public async Task InstallIfMissingAsync_TwiceOnAnEmptyFolder_InstallsExactlyOnce()
    {
        var first = await BundledDatabase.InstallIfMissingAsync(Folder, _time, CancellationToken.None);
        var written = File.GetLastWriteTimeUtc(Path.Combine(Folder, AdvisoryDatabase.MetadataFile));
        _time.Advance(TimeSpan.FromDays(1));
        var second = await BundledDatabase.InstallIfMissingAsync(Folder, _time, CancellationToken.None);

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.Equal(["Alpine", "Debian", "Go", "PyPI"], first.Records.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0, first.Skipped);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(Folder, AdvisoryDatabase.MetadataFile)));
        Assert.Equal(["data"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName));
        Assert.Equal(["vulndb"], Directory.GetFileSystemEntries(_temp["data"]).Select(Path.GetFileName)); // no staging left
    }

    [Fact]
    public async Task InstallAsync_WritesBundledMetadataAndEveryRecord()
    {
        var result = await BundledDatabase.InstallAsync(Folder, _time, CancellationToken.None);

        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, AdvisoryDatabase.MetadataFile)));
        Assert.Equal("bundled", json.RootElement.GetProperty("source").GetString());
        Assert.Equal(new DateTimeOffset(2026, 8, 31, 0, 0, 0, TimeSpan.Zero), json.RootElement.GetProperty("dataAsOf").GetDateTimeOffset());
        Assert.Equal(_time.GetUtcNow(), json.RootElement.GetProperty("updatedAt").GetDateTimeOffset());
        Assert.StartsWith("2023-04-02", json.RootElement.GetProperty("dataUpTo").GetProperty("Debian").GetString(), StringComparison.Ordinal);
        var read = DatabaseMetadata.Read(Folder);
        Assert.Equal((result.Metadata.Source, result.Metadata.UpdatedAt, result.Metadata.DataAsOf), (read.Source, read.UpdatedAt, read.DataAsOf));
        Assert.Equal(result.Metadata.DataUpTo, read.DataUpTo);
        Assert.Equal(["Alpine", "Debian", "Go", "PyPI"], read.DataUpTo!.Keys.Order(StringComparer.Ordinal));
        var db = AdvisoryDatabase.Load(Folder);
        Assert.Equal((18_071, 0), (db.Records, db.Skipped));
        Assert.False(File.Exists(Path.Combine(Folder, "bundled.meta")), "the metadata resource was copied as data");
        Assert.True(File.Exists(Path.Combine(Folder, "Debian", "all.zip")));
    }

    [Fact]
    public async Task InstallIfMissingAsync_FolderWithOtherData_IsLeftAlone()
    {
        var record = OsvFiles.Write(Path.Combine(Folder, "mine", "X-1.json"), OsvFiles.Record("X-1"));

        Assert.Null(await BundledDatabase.InstallIfMissingAsync(Folder, _time, CancellationToken.None));

        Assert.Equal([record], Directory.GetFiles(Folder, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task InstallIfMissingAsync_FolderWithOnlyMetadata_Installs()
    {
        new DatabaseMetadata("unknown", null, null).Write(Directory.CreateDirectory(Folder).FullName);

        var result = await BundledDatabase.InstallIfMissingAsync(Folder, _time, CancellationToken.None);

        Assert.NotNull(result);
        Assert.Equal("bundled", DatabaseMetadata.Read(Folder).Source);
    }
}
