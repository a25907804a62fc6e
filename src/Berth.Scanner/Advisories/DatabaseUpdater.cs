using System.IO.Compression;
using System.Text.Json;

namespace Berth.Scanner.Advisories;

/// <summary>The result of an update: how many records each ecosystem brought.</summary>
public sealed record UpdateResult(string Folder, DateTimeOffset UpdatedAt, IReadOnlyDictionary<string, int> Records, int Skipped);

/// <summary>
/// <c>db update</c>: downloads <c>&lt;base&gt;/&lt;Ecosystem&gt;/all.zip</c> for each ecosystem into a staging
/// folder, checks every archive loads, records the date, then swaps the staging folder in. On any error
/// the current database stays as it was.
/// </summary>
public sealed class DatabaseUpdater(HttpClient http, TimeProvider time)
{
    public static readonly Uri DefaultBaseUrl = new("https://osv-vulnerabilities.storage.googleapis.com/");

    public static readonly IReadOnlyList<string> DefaultEcosystems = ["Debian", "Alpine", "Ubuntu", "PyPI", "npm"];

    public async Task<UpdateResult> UpdateAsync(string folder, Uri baseUrl, IReadOnlyList<string> ecosystems, CancellationToken cancellationToken)
    {
        if (ecosystems.Count == 0)
        {
            throw new ArgumentException("name at least one ecosystem", nameof(ecosystems));
        }
        var full = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(full)}.staging-{Guid.NewGuid():N}");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            var skipped = 0;
            foreach (var ecosystem in ecosystems)
            {
                var target = Path.Combine(staging, ecosystem, "all.zip");
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                var url = new Uri(baseUrl, $"{Uri.EscapeDataString(ecosystem)}/all.zip");
                using (var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken))
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new InvalidDataException($"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
                    }
                    await using var file = File.Create(target);
                    await response.Content.CopyToAsync(file, cancellationToken);
                }
                try
                {
                    using var zip = ZipFile.OpenRead(target);
                    if (!zip.Entries.Any(e => e.FullName.EndsWith(".json", StringComparison.OrdinalIgnoreCase)))
                    {
                        throw new InvalidDataException($"{url} holds no JSON records");
                    }
                }
                catch (InvalidDataException e) when (!e.Message.Contains("holds no", StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"{url} is not a readable zip archive: {e.Message}", e);
                }
                var check = AdvisoryDatabase.Load(Path.Combine(staging, ecosystem));
                if (check.Records == 0)
                {
                    throw new InvalidDataException($"{url} holds no readable OSV record ({check.Skipped} skipped)");
                }
                counts[ecosystem] = check.Records;
                skipped += check.Skipped;
            }
            var now = time.GetUtcNow();
            await File.WriteAllTextAsync(Path.Combine(staging, AdvisoryDatabase.MetadataFile), JsonSerializer.Serialize(new
            {
                updatedAt = now,
                source = baseUrl.ToString(),
                ecosystems = counts,
            }), cancellationToken);

            // Swap: two renames on one filesystem. Readers see the old folder or the new one, never a half-written one.
            var old = Path.Combine(parent, $".{Path.GetFileName(full)}.old-{Guid.NewGuid():N}");
            if (Directory.Exists(full))
            {
                Directory.Move(full, old);
            }
            Directory.Move(staging, full);
            if (Directory.Exists(old))
            {
                Directory.Delete(old, recursive: true);
            }
            return new UpdateResult(full, now, counts, skipped);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }
}
