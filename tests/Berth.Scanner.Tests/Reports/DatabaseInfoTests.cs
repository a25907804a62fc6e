using Berth.Scanner.Advisories;
using Berth.Scanner.Reports;
using Berth.Scanner.Tests.Advisories;

namespace Berth.Scanner.Tests.Reports;

/// <summary>The database line of a report: its age counts from the data's date, and a missing, stale or undated database says so.</summary>
public sealed class DatabaseInfoTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 9, 20, 12, 0, 0, TimeSpan.Zero);

    private readonly TempFolder _temp = new("berth-dbinfo-");

    public void Dispose() => _temp.Dispose();

    private AdvisoryDatabase Database(DatabaseMetadata? metadata, int records = 1)
    {
        var folder = _temp["vulndb"];
        for (var i = 0; i < records; i++)
        {
            OsvFiles.Write(Path.Combine(folder, $"X-{i}.json"), OsvFiles.Record($"X-{i}"));
        }
        if (metadata is not null)
        {
            Directory.CreateDirectory(folder);
            metadata.Write(folder);
        }
        return AdvisoryDatabase.Load(folder);
    }

    [Fact]
    public void Of_RecentData_HasItsAgeAndNoWarning()
    {
        var upTo = new Dictionary<string, string> { ["PyPI"] = "2026-09" };
        var info = DatabaseInfo.Of(Database(new DatabaseMetadata("bundled", Now.AddDays(-1), Now.AddDays(-3), upTo), records: 2), Now, maxAgeDays: 7);

        Assert.Equal(("bundled", 2, 0), (info.Source, info.Records, info.Skipped));
        Assert.Equal(3.0, info.AgeDays);
        Assert.Equal(Now.AddDays(-1), info.UpdatedAt);
        Assert.Equal("2026-09", info.DataUpTo!["PyPI"]);
        Assert.Null(info.Warning);
    }

    [Fact]
    public void Of_AgeCountsFromTheDataNotTheInstall()
    {
        // The bundled snapshot installed today still holds old data.
        var info = DatabaseInfo.Of(Database(new DatabaseMetadata("bundled", Now, Now.AddDays(-20.3))), Now, maxAgeDays: 7);

        Assert.Equal(20.3, info.AgeDays);
        Assert.Equal("the advisory data (bundled) is 20.3 days old; run `berth db update`, or `berth db import <osv-export>` where osv.dev cannot be reached",
            info.Warning);
    }

    [Fact]
    public void Of_NoDataDate_AgeCountsFromTheInstall()
    {
        var info = DatabaseInfo.Of(Database(new DatabaseMetadata("https://mirror.invalid/", Now.AddDays(-2), null)), Now, maxAgeDays: 7);

        Assert.Equal(2.0, info.AgeDays);
        Assert.Null(info.Warning);
    }

    [Theory]
    [InlineData(7.0, false)]
    [InlineData(7.1, true)]
    public void Of_AgeAtTheLimit_WarnsOnlyPastIt(double days, bool warns)
    {
        var info = DatabaseInfo.Of(Database(new DatabaseMetadata("bundled", null, Now.AddDays(-days))), Now, maxAgeDays: 7);

        Assert.Equal(warns, info.Warning is not null);
    }

    [Fact]
    public void Of_DateInTheFuture_IsAgeZero()
    {
        var info = DatabaseInfo.Of(Database(new DatabaseMetadata("import:x", null, Now.AddDays(30))), Now, maxAgeDays: 7);

        Assert.Equal(0.0, info.AgeDays);
        Assert.Null(info.Warning);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Of_UnknownDate_WarnsThatItIsUnknown(bool metadataFile)
    {
        var info = DatabaseInfo.Of(Database(metadataFile ? new DatabaseMetadata("unknown", null, null) : null), Now, maxAgeDays: 7);

        Assert.Null(info.AgeDays);
        Assert.Equal("unknown", info.Source);
        Assert.StartsWith("the advisory database's date is unknown (not written by berth); run `berth db update`", info.Warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Of_EmptyDatabase_WarnsThatNothingWasChecked()
    {
        var info = DatabaseInfo.Of(Database(new DatabaseMetadata("bundled", Now, Now), records: 0), Now, maxAgeDays: 7);

        Assert.Equal(0, info.Records);
        Assert.StartsWith("no advisory database is installed (Scan:Database): packages were listed but not checked", info.Warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Of_MissingFolder_WarnsThatNothingWasChecked()
    {
        var info = DatabaseInfo.Of(AdvisoryDatabase.Load(_temp["nowhere"]), Now, maxAgeDays: 7);

        Assert.StartsWith("no advisory database is installed", info.Warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Of_MalformedMetadataFile_IsAnUnknownDate()
    {
        var db = Database(null);
        File.WriteAllText(Path.Combine(db.Folder, AdvisoryDatabase.MetadataFile), "{\"source\":\"a\",\"source\":\"b\"}");

        var info = DatabaseInfo.Of(AdvisoryDatabase.Load(db.Folder), Now, maxAgeDays: 7);

        Assert.Equal("unknown", info.Source);
        Assert.Contains("date is unknown", info.Warning, StringComparison.Ordinal);
    }
}
