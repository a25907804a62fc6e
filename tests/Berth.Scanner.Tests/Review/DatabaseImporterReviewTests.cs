using Berth.Scanner.Advisories;
using Berth.Scanner.Tests.Advisories;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Scanner.Tests.Review;

/// <summary>Security review of <c>db import</c> (branch h-review): a failing test is a finding.</summary>
public sealed class DatabaseImporterReviewTests : IDisposable
{
    private readonly TempFolder _temp = new("berth-import-review-");
    private readonly DatabaseImporter _importer = new(new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task ImportAsync_LinkToTheFolderHoldingTheDatabase_IsRefused()
    {
        var folder = _temp["data/vulndb"];
        OsvFiles.Write(Path.Combine(folder, "PyPI", "PYSEC-OLD.json"), OsvFiles.Record("PYSEC-OLD"));
        OsvFiles.Write(_temp["data/export/PyPI/PYSEC-1.json"], OsvFiles.Record("PYSEC-1"));
        Directory.CreateSymbolicLink(_temp["via-link"], _temp["data"]);

        // The string checks compare Path.GetFullPath results, which do not resolve links: "via-link" holds the
        // database folder (and the staging folder the copy writes into) without looking like it.
        var error = await Record.ExceptionAsync(() => _importer.ImportAsync(folder, _temp["via-link"], CancellationToken.None));

        Assert.IsType<InvalidDataException>(error);
        Assert.Equal(["PYSEC-OLD"], AdvisoryDatabase.Load(folder).For("PyPI", "example").Select(r => r.Record.Id));
    }
}
