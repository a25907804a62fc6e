using Berth.Scanner.Advisories;
using Berth.Scanner.Catalogers;
using Berth.Scanner.Catalogers.Os;
using Berth.Scanner.Layers;
using Berth.Scanner.Matching;
using Berth.Scanner.Packages;

namespace Berth.Scanner;

/// <summary>What an image holds and which advisories affect it (before policy).</summary>
public sealed record ScanResult(Distro? Distro, IReadOnlyList<Package> Packages, IReadOnlyList<Finding> Findings, IReadOnlyList<string> Warnings);

/// <summary>Image → files → packages → advisories.</summary>
public static class ImageScanner
{
    /// <summary>Scans a saved image stream (the tar of <c>docker save</c>).</summary>
    public static async Task<ScanResult> ScanAsync(Stream savedImage, AdvisoryDatabase database, CancellationToken cancellationToken)
    {
        var files = await SavedImageReader.ReadAsync(savedImage, DefaultCatalogers.Wanted, cancellationToken);
        return Scan(files, database);
    }

    public static ScanResult Scan(ImageFiles files, AdvisoryDatabase database)
    {
        var warnings = new List<string>();
        var distro = DistroReader.Read(files);
        var packages = DefaultCatalogers.All.SelectMany(c => c.Catalog(files, distro, warnings)).ToList();
        if (packages.Any(p => p.Type is "deb" or "apk" && p.Ecosystem is null))
        {
            warnings.Add($"the distribution ({distro?.Id ?? "unknown"} {distro?.VersionId}) has no OSV ecosystem: its OS packages were not matched");
        }
        return new ScanResult(distro, packages, Matcher.Match(packages, database), warnings);
    }
}
