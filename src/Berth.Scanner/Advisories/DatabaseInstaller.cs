namespace Berth.Scanner.Advisories;

/// <summary>The result of installing a database: where, what it says of itself, and how many records each ecosystem brought.</summary>
public sealed record InstallResult(string Folder, DatabaseMetadata Metadata, IReadOnlyDictionary<string, int> Records, int Skipped);

/// <summary>
/// Verify-then-swap, the one way a database folder is replaced (update, import, the bundled snapshot): the
/// new data is written to a staging folder beside the target, loaded in full (it must hold at least one
/// readable record), given its <c>berth-db.json</c>, then swapped in with two renames on one filesystem.
/// Readers see the old folder or the new one, never a half-written one; on any error the old one stays.
/// </summary>
public static class DatabaseInstaller
{
    /// <param name="fill">Writes the data into the staging folder it is given and returns the metadata to record.</param>
    public static async Task<InstallResult> InstallAsync(string folder, Func<string, CancellationToken, Task<DatabaseMetadata>> fill, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(full)}.staging-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var metadata = await fill(staging, cancellationToken);
            var check = AdvisoryDatabase.Load(staging);
            if (check.Records == 0)
            {
                throw new InvalidDataException($"the new data holds no readable OSV record ({check.Skipped} skipped); the database was left as it was");
            }
            metadata.Write(staging);

            var old = Path.Combine(parent, $".{Path.GetFileName(full)}.old-{Guid.NewGuid():N}");
            if (Directory.Exists(full))
            {
                Directory.Move(full, old);
            }
            try
            {
                Directory.Move(staging, full);
            }
            catch (IOException) when (Directory.Exists(old) && !Directory.Exists(full))
            {
                Directory.Move(old, full); // put the old database back: never leave no database behind
                throw;
            }
            if (Directory.Exists(old))
            {
                Directory.Delete(old, recursive: true);
            }
            var records = check.Ecosystems.Keys
                .GroupBy(Versions.VersionSchemes.BaseEcosystem, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => check.RecordsIn(g.Key), StringComparer.Ordinal);
            return new InstallResult(full, metadata, records, check.Skipped);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>True when <paramref name="folder"/> holds advisory data (any zip or OSV JSON file).</summary>
    public static bool HasData(string folder) =>
        Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Any(f => f.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)
                      || (f.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && Path.GetFileName(f) != AdvisoryDatabase.MetadataFile));
}
