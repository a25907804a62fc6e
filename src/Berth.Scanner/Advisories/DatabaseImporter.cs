using System.IO.Enumeration;

namespace Berth.Scanner.Advisories;

/// <summary>
/// <c>db import &lt;zip|dir&gt;</c>, for sites that cannot reach osv.dev: loads an OSV export that was carried
/// in — a zip of OSV JSON records (osv.dev's <c>&lt;Ecosystem&gt;/all.zip</c> or its whole-database
/// <c>all.zip</c>), or a folder of such zips and/or <c>*.json</c> records at any depth — and installs it with
/// <see cref="DatabaseInstaller"/> (verify, then swap). Symbolic links in a folder are not followed. The
/// database's age counts from the newest record's <c>modified</c> date.
/// </summary>
public sealed class DatabaseImporter(TimeProvider time)
{
    public async Task<InstallResult> ImportAsync(string folder, string source, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(source) || source.Contains('\0', StringComparison.Ordinal))
        {
            throw new FileNotFoundException("name an OSV export: a .zip of OSV records or a folder of them");
        }
        var from = Path.GetFullPath(source);
        var name = Path.GetFileName(from.TrimEnd('/'));
        if (!File.Exists(from) && !Directory.Exists(from))
        {
            throw new FileNotFoundException($"{source} does not exist");
        }
        // Compared with every link resolved: a link to the database's parent is the database's parent.
        var realFrom = (Layers.LinuxFiles.RealPath(from) ?? from).TrimEnd('/');
        var target = Path.GetFullPath(folder).TrimEnd('/');
        var realTarget = (Layers.LinuxFiles.RealPath(target) ?? Path.Combine(Layers.LinuxFiles.RealPath(Path.GetDirectoryName(target)!) ?? Path.GetDirectoryName(target)!, Path.GetFileName(target))).TrimEnd('/');
        if (Directory.Exists(from) && realTarget == realFrom)
        {
            throw new InvalidDataException($"{source} is the database folder itself");
        }
        if (Directory.Exists(from) && (realTarget + "/").StartsWith(realFrom + "/", StringComparison.Ordinal))
        {
            // The copy would take in the current database (and the staging folder beside it) along with the export.
            throw new InvalidDataException($"{source} holds the database folder ({folder}): import the folder of the OSV export itself");
        }
        return await DatabaseInstaller.InstallAsync(folder, async (staging, ct) =>
        {
            if (File.Exists(from))
            {
                DatabaseUpdater.CheckZip(from, source);
                await CopyAsync(from, Path.Combine(staging, "imported", "all.zip"), ct);
            }
            else
            {
                var files = new FileSystemEnumerable<string>(from, (ref FileSystemEntry e) => e.ToFullPath(),
                    new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
                {
                    ShouldIncludePredicate = (ref FileSystemEntry e) => !e.IsDirectory
                        && (e.FileName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) || e.FileName.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                        && !e.FileName.Equals(AdvisoryDatabase.MetadataFile, StringComparison.Ordinal),
                };
                var copied = 0;
                foreach (var file in files)
                {
                    var relative = Path.GetRelativePath(from, file);
                    if (file.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
                    {
                        DatabaseUpdater.CheckZip(file, relative);
                    }
                    await CopyAsync(file, Path.Combine(staging, "imported", relative), ct);
                    copied++;
                }
                if (copied == 0)
                {
                    throw new InvalidDataException($"{source} holds no .zip or .json file");
                }
            }
            var now = time.GetUtcNow();
            var newest = AdvisoryDatabase.Load(staging).NewestModified(now);
            return new DatabaseMetadata($"import:{name}", now, newest ?? now);
        }, cancellationToken);
    }

    private static async Task CopyAsync(string from, string to, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        await using var source = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        await using var target = File.Create(to);
        await source.CopyToAsync(target, cancellationToken);
    }
}
