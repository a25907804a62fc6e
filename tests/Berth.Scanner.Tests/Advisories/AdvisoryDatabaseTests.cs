using System.IO.Compression;
using System.Text;
using Berth.Scanner.Advisories;

namespace Berth.Scanner.Tests.Advisories;

public sealed class AdvisoryDatabaseTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-db-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Good = """
        {"id": "TEST-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}]}
        """;

    [Fact]
    public void Load_MalformedRecords_AreSkippedAndCounted()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "PyPI"));
        using (var zip = ZipFile.Open(Path.Combine(_dir, "PyPI", "all.zip"), ZipArchiveMode.Create))
        {
            void Add(string name, string content)
            {
                using var w = new StreamWriter(zip.CreateEntry(name).Open(), Encoding.UTF8);
                w.Write(content);
            }
            Add("TEST-1.json", Good);
            Add("bad-json.json", "{\"id\": ");
            Add("bad-shape.json", "{\"id\": 42, \"affected\": \"no\"}");
            Add("no-affected.json", "{\"id\": \"TEST-2\"}");
            Add("readme.txt", "not a record");
        }
        File.WriteAllText(Path.Combine(_dir, "loose.json"), Good.Replace("TEST-1", "TEST-3", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(_dir, "broken.zip"), "not a zip");

        var db = AdvisoryDatabase.Load(_dir);

        Assert.Equal(2, db.Records);
        Assert.Equal(4, db.Skipped);
        Assert.Equal(["TEST-1", "TEST-3"], db.For("PyPI", "demo-pkg").Select(e => e.Record.Id));
    }

    [Fact]
    public void Load_MissingFolder_IsEmpty()
    {
        var db = AdvisoryDatabase.Load(Path.Combine(_dir, "nope"));
        Assert.True(db.IsEmpty);
        Assert.Null(db.UpdatedAt);
    }
}
