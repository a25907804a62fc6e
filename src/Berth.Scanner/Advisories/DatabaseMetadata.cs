using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Scanner.Json;

namespace Berth.Scanner.Advisories;

/// <summary>
/// <c>berth-db.json</c>, written beside the data by whatever installed it. <see cref="Source"/>: <c>bundled</c>,
/// the update URL, or <c>import:&lt;name&gt;</c>. <see cref="DataAsOf"/>: how recent the advisories are (the
/// bundled snapshot's date, an update's time); the database's age counts from it. <see cref="DataUpTo"/>:
/// per ecosystem, when its data ends, where that is known.
/// </summary>
public sealed record DatabaseMetadata(
    string Source,
    DateTimeOffset? UpdatedAt,
    DateTimeOffset? DataAsOf,
    IReadOnlyDictionary<string, string>? DataUpTo = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static readonly DatabaseMetadata Unknown = new("unknown", null, null);

    public static DatabaseMetadata Read(string folder)
    {
        var path = Path.Combine(folder, AdvisoryDatabase.MetadataFile);
        if (!File.Exists(path))
        {
            return Unknown;
        }
        try
        {
            var bytes = File.ReadAllBytes(path);
            using var _ = StrictJson.Parse(bytes); // refuses duplicate keys and other ambiguity first
            var read = JsonSerializer.Deserialize<DatabaseMetadata>(bytes, Json);
            return read is null ? Unknown : read with { Source = string.IsNullOrWhiteSpace(read.Source) ? "unknown" : read.Source };
        }
        catch (Exception e) when (e is StrictJsonException or JsonException or IOException)
        {
            return Unknown;
        }
    }

    public void Write(string folder) =>
        File.WriteAllBytes(Path.Combine(folder, AdvisoryDatabase.MetadataFile), JsonSerializer.SerializeToUtf8Bytes(this, Json));
}
