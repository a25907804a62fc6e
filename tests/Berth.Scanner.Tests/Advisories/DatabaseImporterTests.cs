using Berth.Scanner.Advisories;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Scanner.Tests.Advisories;

/// <summary><c>db import</c>: an OSV export carried in as a zip or a folder, installed with verify-then-swap.</summary>
public sealed class DatabaseImporterTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly TempFolder _temp = new("berth-import-");
    private readonly DatabaseImporter _importer = new(new FakeTimeProvider(Now));

    public void Dispose() => _temp.Dispose();

    private string Folder => _temp["vulndb"];

    [Fact]
    public async Task ImportAsync_Zip_InstallsItsRecordsNamedForTheFile()
    {
        var zip = OsvFiles.Zip(_temp["carried/PyPI-all.zip"],
            OsvFiles.Record("PYSEC-1", "2024-03-01T00:00:00Z"), OsvFiles.Record("PYSEC-2", "2024-05-01T10:00:00Z", name: "other"));

        var result = await _importer.ImportAsync(Folder, zip, CancellationToken.None);

        Assert.Equal(new Dictionary<string, int> { ["PyPI"] = 2 }, result.Records);
        Assert.Equal(new DatabaseMetadata("import:PyPI-all.zip", Now, DateTimeOffset.Parse("2024-05-01T10:00:00Z")), result.Metadata);
        Assert.True(File.Exists(Path.Combine(Folder, "imported", "all.zip")));
        Assert.Equal(result.Metadata, AdvisoryDatabase.Load(Folder).Metadata);
    }

    [Fact]
    public async Task ImportAsync_FolderWithSymlinks_DoesNotFollowThem()
    {
        var outside = _temp["outside"];
        var secret = OsvFiles.Write(Path.Combine(outside, "SECRET-1.json"), OsvFiles.Record("SECRET-1"));
        OsvFiles.Write(Path.Combine(outside, "dir", "SECRET-2.json"), OsvFiles.Record("SECRET-2"));
        var source = _temp["export"];
        OsvFiles.Write(Path.Combine(source, "PyPI", "PYSEC-1.json"), OsvFiles.Record("PYSEC-1"));
        OsvFiles.Zip(Path.Combine(source, "Go", "all.zip"), OsvFiles.Record("GO-1", ecosystem: "Go"));
        File.CreateSymbolicLink(Path.Combine(source, "PyPI", "SECRET-1.json"), secret);
        Directory.CreateSymbolicLink(Path.Combine(source, "linked"), Path.Combine(outside, "dir"));

        var result = await _importer.ImportAsync(Folder, source, CancellationToken.None);

        var db = AdvisoryDatabase.Load(Folder);
        Assert.Equal(2, db.Records);
        Assert.Equal(new Dictionary<string, int> { ["Go"] = 1, ["PyPI"] = 1 }, result.Records);
        Assert.Empty(Directory.GetFiles(Folder, "SECRET-*", SearchOption.AllDirectories));
        Assert.Equal("import:export", result.Metadata.Source);
        Assert.True(File.Exists(Path.Combine(Folder, "imported", "PyPI", "PYSEC-1.json")));
        Assert.True(File.Exists(Path.Combine(Folder, "imported", "Go", "all.zip")));
    }

    [Fact]
    public async Task ImportAsync_FolderNamedWithATrailingSlash_IsNamedWithoutIt()
    {
        OsvFiles.Write(_temp["export/X-1.json"], OsvFiles.Record("X-1"));

        var result = await _importer.ImportAsync(Folder, _temp["export"] + "/", CancellationToken.None);

        Assert.Equal("import:export", result.Metadata.Source);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("metadata only")]
    [InlineData("other files")]
    public async Task ImportAsync_FolderWithNoRecords_IsRefusedAndTheDatabaseStays(string content)
    {
        OsvFiles.Write(Path.Combine(Folder, "PyPI", "PYSEC-1.json"), OsvFiles.Record("PYSEC-1"));
        var source = Directory.CreateDirectory(_temp["export"]).FullName;
        if (content == "metadata only")
        {
            new DatabaseMetadata("bundled", null, null).Write(source);
        }
        else if (content == "other files")
        {
            OsvFiles.Write(Path.Combine(source, "README.md"), "# notes");
        }

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => _importer.ImportAsync(Folder, source, CancellationToken.None));

        Assert.Equal($"{source} holds no .zip or .json file", e.Message);
        Assert.Equal(1, AdvisoryDatabase.Load(Folder).Records);
        Assert.Equal(["export", "vulndb"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("/./")]
    public async Task ImportAsync_TheDatabaseFolderItself_IsRefused(string suffix)
    {
        OsvFiles.Write(Path.Combine(Folder, "PyPI", "PYSEC-1.json"), OsvFiles.Record("PYSEC-1"));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => _importer.ImportAsync(Folder, Folder + suffix, CancellationToken.None));

        Assert.EndsWith("is the database folder itself", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, AdvisoryDatabase.Load(Folder).Records);
    }

    [Fact]
    public async Task ImportAsync_AFolderHoldingTheDatabase_IsRefusedAndTheDatabaseStays()
    {
        // e.g. `berth db import /data` with the database at /data/vulndb: the import would copy in the current database
        // (and every earlier import inside it) and walk the staging folder it is writing to.
        var data = _temp["data"];
        var folder = Path.Combine(data, "vulndb");
        OsvFiles.Write(Path.Combine(folder, "PyPI", "PYSEC-1.json"), OsvFiles.Record("PYSEC-1"));
        OsvFiles.Write(Path.Combine(data, "carried", "X-1.json"), OsvFiles.Record("X-1"));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => _importer.ImportAsync(folder, data, CancellationToken.None));

        Assert.Contains("holds the database folder", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, AdvisoryDatabase.Load(folder).Records);
        Assert.Equal(["carried", "vulndb"], Directory.GetFileSystemEntries(data).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("missing.zip")]
    public async Task ImportAsync_NoSuchSource_IsFileNotFound(string source)
    {
        var path = source == "missing.zip" ? _temp[source] : source;

        await Assert.ThrowsAsync<FileNotFoundException>(() => _importer.ImportAsync(Folder, path, CancellationToken.None));

        Assert.False(Directory.Exists(Folder));
    }

    [Fact]
    public async Task ImportAsync_FileThatIsNotAZip_IsRefusedNamingIt()
    {
        var bad = OsvFiles.Write(_temp["all.zip"], "<html>proxy login</html>");

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => _importer.ImportAsync(Folder, bad, CancellationToken.None));

        Assert.StartsWith($"{bad} is not a readable zip archive", e.Message, StringComparison.Ordinal);
        Assert.Equal(["all.zip"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task ImportAsync_DataAsOf_IsTheNewestPlausibleModifiedDate()
    {
        var source = _temp["export"];
        OsvFiles.Write(Path.Combine(source, "a.json"), OsvFiles.Record("A-1", "2023-05-01T00:00:00Z"));
        OsvFiles.Write(Path.Combine(source, "b.json"), OsvFiles.Record("B-1", "2025-06-01T12:00:00Z"));
        OsvFiles.Write(Path.Combine(source, "c.json"), OsvFiles.Record("C-1", "2999-01-01T00:00:00Z")); // in the future
        OsvFiles.Write(Path.Combine(source, "d.json"), OsvFiles.Record("D-1", "1970-01-01T00:00:00Z")); // before OSV existed
        OsvFiles.Write(Path.Combine(source, "e.json"), OsvFiles.Record("E-1", "yesterday"));

        var result = await _importer.ImportAsync(Folder, source, CancellationToken.None);

        Assert.Equal(5, AdvisoryDatabase.Load(Folder).Records);
        Assert.Equal(DateTimeOffset.Parse("2025-06-01T12:00:00Z"), result.Metadata.DataAsOf);
        Assert.Equal(Now, result.Metadata.UpdatedAt);
    }

    [Fact]
    public async Task ImportAsync_NoPlausibleModifiedDate_DataAsOfIsTheImportTime()
    {
        var zip = OsvFiles.Zip(_temp["x.zip"], OsvFiles.Record("A-1", "2999-01-01T00:00:00Z"), OsvFiles.Record("B-1", ""));

        var result = await _importer.ImportAsync(Folder, zip, CancellationToken.None);

        Assert.Equal(Now, result.Metadata.DataAsOf);
    }
}
