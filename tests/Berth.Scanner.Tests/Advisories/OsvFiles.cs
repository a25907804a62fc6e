using System.IO.Compression;
using System.Text.Json;

namespace Berth.Scanner.Tests.Advisories;

/// <summary>Minimal OSV records (JSON text) and zips of them, for database installation tests.</summary>
internal static class OsvFiles
{
    public static string Record(string id, string modified = "2024-01-01T00:00:00Z", string ecosystem = "PyPI", string name = "example") =>
        JsonSerializer.Serialize(new
        {
            id,
            modified,
            affected = new[]
            {
                new { package = new { ecosystem, name }, ranges = new[] { new { type = "ECOSYSTEM", events = new object[] { new { introduced = "0" }, new { @fixed = "2.0" } } } } },
            },
        });

    public static string Write(string path, string json)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
        return path;
    }

    public static string Zip(string path, params string[] records)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        for (var i = 0; i < records.Length; i++)
        {
            using var writer = new StreamWriter(zip.CreateEntry($"R-{i}.json").Open());
            writer.Write(records[i]);
        }
        return path;
    }
}
