using System.IO.Compression;

namespace Berth.Scanner.Advisories;

/// <summary>
/// <c>db update</c>: downloads <c>&lt;base&gt;/&lt;Ecosystem&gt;/all.zip</c> for each ecosystem, checks every
/// archive is a zip of readable OSV records, and installs them with <see cref="DatabaseInstaller"/>.
/// On any error the current database stays as it was.
/// </summary>
public sealed class DatabaseUpdater(HttpClient http, TimeProvider time)
{
    public static readonly Uri DefaultBaseUrl = new("https://osv-vulnerabilities.storage.googleapis.com/");

    public static readonly IReadOnlyList<string> DefaultEcosystems = ["Debian", "Alpine", "Ubuntu", "PyPI", "npm", "Go"];

    public async Task<InstallResult> UpdateAsync(string folder, Uri baseUrl, IReadOnlyList<string> ecosystems, CancellationToken cancellationToken)
    {
        if (ecosystems.Count == 0)
        {
            throw new ArgumentException("name at least one ecosystem", nameof(ecosystems));
        }
        return await DatabaseInstaller.InstallAsync(folder, async (staging, ct) =>
        {
            foreach (var ecosystem in ecosystems)
            {
                var target = Path.Combine(staging, ecosystem, "all.zip");
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                var url = new Uri(baseUrl, $"{Uri.EscapeDataString(ecosystem)}/all.zip");
                using (var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct))
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new InvalidDataException($"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
                    }
                    await using var file = File.Create(target);
                    await response.Content.CopyToAsync(file, ct);
                }
                CheckZip(target, url.ToString());
                var check = AdvisoryDatabase.Load(Path.Combine(staging, ecosystem));
                if (check.Records == 0)
                {
                    throw new InvalidDataException($"{url} holds no readable OSV record ({check.Skipped} skipped)");
                }
            }
            var now = time.GetUtcNow();
            return new DatabaseMetadata(baseUrl.ToString(), now, now);
        }, cancellationToken);
    }

    /// <summary>Throws <see cref="InvalidDataException"/> naming <paramref name="name"/> unless the file is a zip with at least one JSON entry.</summary>
    internal static void CheckZip(string path, string name)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            if (!zip.Entries.Any(e => e.FullName.EndsWith(".json", StringComparison.OrdinalIgnoreCase)))
            {
                throw new InvalidDataException($"{name} holds no JSON records");
            }
        }
        catch (InvalidDataException e) when (!e.Message.Contains("holds no", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{name} is not a readable zip archive: {e.Message}", e);
        }
    }
}
