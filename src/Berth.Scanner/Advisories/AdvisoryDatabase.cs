using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using Berth.Scanner.Catalogers.Python;
using Berth.Scanner.Json;
using Berth.Scanner.Versions;

namespace Berth.Scanner.Advisories;

/// <summary>
/// OSV advisories loaded from a folder laid out like osv.dev's dumps: <c>&lt;Ecosystem&gt;/all.zip</c>
/// and/or plain <c>*.json</c> records, indexed by (ecosystem, package name). Every record is read with
/// <see cref="StrictJson"/>; a malformed or oversized one is skipped and counted, never thrown.
/// </summary>
public sealed class AdvisoryDatabase
{
    public const string MetadataFile = "berth-db.json";

    /// <summary>A record larger than this is skipped (osv.dev's largest are well under 1 MiB).</summary>
    public const int MaxRecordBytes = 16 * 1024 * 1024;

    private readonly Dictionary<(string Ecosystem, string Name), List<(OsvRecord Record, OsvAffected Affected)>> _index;

    private AdvisoryDatabase(Dictionary<(string, string), List<(OsvRecord, OsvAffected)>> index, int records, int skipped, DatabaseMetadata metadata, string folder)
    {
        _index = index;
        Records = records;
        Skipped = skipped;
        Metadata = metadata;
        Folder = folder;
        Ecosystems = index.GroupBy(e => e.Key.Item1, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(e => e.Value.Count), StringComparer.Ordinal);
    }

    public static AdvisoryDatabase Empty(string folder) => new([], 0, 0, DatabaseMetadata.Unknown, folder);

    /// <summary>Where the data came from and how old it is (<see cref="MetadataFile"/>).</summary>
    public DatabaseMetadata Metadata { get; }

    /// <summary>Each ecosystem (<c>Debian:11</c>, <c>PyPI</c>, …) with its number of affected-package entries.</summary>
    public IReadOnlyDictionary<string, int> Ecosystems { get; }

    public bool HasEcosystem(string ecosystem) => Ecosystems.ContainsKey(ecosystem);

    /// <summary>Records with at least one affected package in <paramref name="baseEcosystem"/> (<c>Debian</c> covers every <c>Debian:N</c>).</summary>
    public int RecordsIn(string baseEcosystem) => _index
        .Where(e => VersionSchemes.BaseEcosystem(e.Key.Ecosystem) == baseEcosystem)
        .SelectMany(e => e.Value.Select(v => v.Record.Id)).Distinct(StringComparer.Ordinal).Count();

    /// <summary>The newest <c>modified</c> date among the records that is plausible (after 1995, not in the future of <paramref name="now"/>).</summary>
    public DateTimeOffset? NewestModified(DateTimeOffset now) => _index.Values
        .SelectMany(v => v.Select(e => e.Record.Modified))
        .Select(m => DateTimeOffset.TryParse(m, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : (DateTimeOffset?)null)
        .Where(at => at is { Year: > 1995 } && at <= now.AddDays(1))
        .Max();

    public string Folder { get; }

    /// <summary>Records loaded.</summary>
    public int Records { get; }

    /// <summary>Records skipped because they could not be read.</summary>
    public int Skipped { get; }

    /// <summary>When <c>db update</c> last replaced the data (null when unknown, e.g. a hand-made folder).</summary>
    public DateTimeOffset? UpdatedAt => Metadata.UpdatedAt;

    public bool IsEmpty => Records == 0;

    /// <summary>The affected entries for a package name in an ecosystem (exact ecosystem, e.g. <c>Debian:12</c>).</summary>
    public IReadOnlyList<(OsvRecord Record, OsvAffected Affected)> For(string ecosystem, string name) =>
        _index.TryGetValue((ecosystem, NormalizeName(ecosystem, name)), out var list) ? list : [];

    /// <summary>Loads every record under <paramref name="folder"/>; a missing folder gives an empty database.</summary>
    public static AdvisoryDatabase Load(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return Empty(folder);
        }
        var records = new ConcurrentBag<OsvRecord>();
        var skipped = 0;
        var sources = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => (f.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                        && Path.GetFileName(f) != MetadataFile)
            .ToList();
        Parallel.ForEach(sources, source =>
        {
            if (source.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
            {
                try
                {
                    using var zip = ZipFile.OpenRead(source);
                    foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".json", StringComparison.OrdinalIgnoreCase)))
                    {
                        using var stream = entry.Open();
                        Add(stream, entry.Length);
                    }
                }
                catch (InvalidDataException)
                {
                    Interlocked.Increment(ref skipped); // an unreadable zip counts as one skipped source
                }
            }
            else
            {
                using var stream = File.OpenRead(source);
                Add(stream, stream.Length);
            }
        });

        void Add(Stream stream, long length)
        {
            try
            {
                if (ReadExactly(stream, length) is { } bytes
                    && StrictJson.Deserialize<OsvRecord>(bytes, OsvJson.Options) is { Id.Length: > 0, Affected.Count: > 0 } record)
                {
                    records.Add(record);
                    return;
                }
            }
            catch (Exception e) when (e is StrictJsonException or InvalidDataException)
            {
            }
            Interlocked.Increment(ref skipped);
        }

        var index = new Dictionary<(string, string), List<(OsvRecord, OsvAffected)>>();
        foreach (var record in records.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            foreach (var affected in record.Affected!)
            {
                if (affected.Package is not { Ecosystem.Length: > 0, Name.Length: > 0 } package)
                {
                    continue;
                }
                var key = (package.Ecosystem!, NormalizeName(package.Ecosystem!, package.Name!));
                if (!index.TryGetValue(key, out var list))
                {
                    index[key] = list = [];
                }
                list.Add((record, affected));
            }
        }
        return new AdvisoryDatabase(index, records.Count, skipped, DatabaseMetadata.Read(folder), folder);
    }

    /// <summary>The stream's <paramref name="length"/> bytes (its declared size); null when that is over <see cref="MaxRecordBytes"/> or the stream holds more or less.</summary>
    private static byte[]? ReadExactly(Stream stream, long length)
    {
        if (length > MaxRecordBytes)
        {
            return null;
        }
        var bytes = new byte[length];
        return stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) == bytes.Length && stream.ReadByte() < 0 ? bytes : null;
    }

    private static string NormalizeName(string ecosystem, string name) =>
        VersionSchemes.BaseEcosystem(ecosystem) == "PyPI" ? PythonCataloger.Normalize(name) : name;
}
