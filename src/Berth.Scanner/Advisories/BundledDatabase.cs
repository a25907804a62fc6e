using System.Text.Json;

namespace Berth.Scanner.Advisories;

/// <summary>
/// The advisory snapshot built into Berth (Advisories/Bundled: Debian, Alpine, PyPI and Go OSV records; see
/// its SOURCE.md), so scanning works on a fresh install with no network. Installed where no database is,
/// with the same verify-then-swap as an update; <c>berth db update</c> or <c>berth db import</c> replace it.
/// </summary>
public static class BundledDatabase
{
    private const string Prefix = "Bundled/";

    /// <summary>Installs the snapshot into <paramref name="folder"/> unless it already holds data; null when it did nothing.</summary>
    public static async Task<InstallResult?> InstallIfMissingAsync(string folder, TimeProvider time, CancellationToken cancellationToken) =>
        DatabaseInstaller.HasData(folder) ? null : await InstallAsync(folder, time, cancellationToken);

    public static Task<InstallResult> InstallAsync(string folder, TimeProvider time, CancellationToken cancellationToken) =>
        DatabaseInstaller.InstallAsync(folder, async (staging, ct) =>
        {
            var assembly = typeof(BundledDatabase).Assembly;
            DatabaseMetadata? metadata = null;
            foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
            {
                await using var resource = assembly.GetManifestResourceStream(name)!;
                if (name == Prefix + "bundled.meta")
                {
                    metadata = await JsonSerializer.DeserializeAsync<DatabaseMetadata>(resource, new JsonSerializerOptions(JsonSerializerDefaults.Web), ct);
                    continue;
                }
                var target = Path.Combine(staging, name[Prefix.Length..]);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await using var file = File.Create(target);
                await resource.CopyToAsync(file, ct);
            }
            return (metadata ?? throw new InvalidDataException("the bundled snapshot lacks bundled.meta")) with { UpdatedAt = time.GetUtcNow() };
        }, cancellationToken);
}
