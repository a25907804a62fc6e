using System.IO.Compression;
using System.Text;
using Berth.Scanner.Advisories;
using Berth.Scanner.Tests.Json;

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

    [Theory]
    [InlineData("{\"id\": \"TEST-9\", \"\\ud800\": 1, \"affected\": [{\"package\": {\"ecosystem\": \"PyPI\", \"name\": \"demo\"}}]}")]
    [InlineData("{\"id\": \"TEST-9\\udc00\", \"affected\": [{\"package\": {\"ecosystem\": \"PyPI\", \"name\": \"demo\"}}]}")]
    [InlineData("{\"id\": \"TEST-9\", \"affected\": [{\"package\": {\"ecosystem\": \"PyPI\", \"name\": \"demo\", \"name\": \"other\"}}]}")]
    [InlineData("{\"id\": \"TEST-9\", \"affected\": [{\"package\": {\"ecosystem\": \"PyPI\", \"name\": \"demo\"}, \"severity\": [{\"type\": \"CVSS_V3\", \"score\": 7.5}]}]}")]
    [InlineData("{\"id\": \"TEST-9\", \"affected\": [{\"package\": {\"ecosystem\": \"PyPI\", \"name\": \"demo\"}}],}")]
    public void Load_HostileRecord_IsSkippedAndCountedBesideAGoodOne(string record)
    {
        File.WriteAllText(Path.Combine(_dir, "good.json"), Good);
        File.WriteAllText(Path.Combine(_dir, "hostile.json"), record);

        var db = AdvisoryDatabase.Load(_dir);

        Assert.Equal((1, 1), (db.Records, db.Skipped));
        Assert.Equal(["TEST-1"], db.For("PyPI", "demo-pkg").Select(e => e.Record.Id));
    }

    [Fact]
    public void Load_RecordOverTheSizeCap_IsSkipped()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "PyPI"));
        using (var zip = ZipFile.Open(Path.Combine(_dir, "PyPI", "all.zip"), ZipArchiveMode.Create))
        {
            using var w = new StreamWriter(zip.CreateEntry("huge.json").Open(), Encoding.UTF8);
            w.Write("{\"id\": \"TEST-H\", \"details\": \"");
            w.Write(new string('a', AdvisoryDatabase.MaxRecordBytes));
            w.Write("\", \"affected\": [{\"package\": {\"ecosystem\": \"PyPI\", \"name\": \"demo\"}}]}");
        }

        var db = AdvisoryDatabase.Load(_dir);

        Assert.Equal((0, 1), (db.Records, db.Skipped));
    }

    [Fact]
    public void Load_GeneratedRecords_OnlyWellFormedOnesLoad()
    {
        var json = new HostileJson(seed: 31337, maxDepth: 64);
        var expected = 0;
        for (var i = 0; i < 300; i++)
        {
            var sample = json.Next();
            var id = $"GEN-{i}";
            // Each sample sits in an otherwise valid record: it loads exactly when the sample is well-formed.
            byte[] record = [.. Encoding.UTF8.GetBytes($"{{\"id\": \"{id}\", \"database_specific\": "), .. sample.Utf8,
                .. ", \"affected\": [{\"package\": {\"ecosystem\": \"PyPI\", \"name\": \"gen\"}}]}"u8];
            File.WriteAllBytes(Path.Combine(_dir, id + ".json"), record);
            expected += sample.Defect == JsonDefect.None ? 1 : 0;
        }

        var db = AdvisoryDatabase.Load(_dir);

        Assert.Equal((expected, 300 - expected), (db.Records, db.Skipped));
        Assert.InRange(expected, 50, 250);
    }
}
