using Berth.Scanner.Advisories;
using Berth.Scanner.Catalogers;
using Berth.Scanner.Catalogers.Go;
using Berth.Scanner.Catalogers.Os;
using Berth.Scanner.Coverage;
using Berth.Scanner.Layers;
using Berth.Scanner.Matching;
using Berth.Scanner.Packages;

namespace Berth.Scanner;

/// <summary>
/// What an image holds and which advisories affect it (before policy). <see cref="Incomplete"/>: package
/// databases the image holds but the scan could not read (tampering or breakage, never "clean").
/// <see cref="Coverage"/>: set when the OS release is not covered by the advisory database.
/// </summary>
public sealed record ScanResult(
    Distro? Distro,
    IReadOnlyList<Package> Packages,
    IReadOnlyList<Finding> Findings,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<string>? Incomplete = null,
    ReleaseCoverage? Coverage = null,
    IReadOnlyList<ImageSecret>? Secrets = null)
{
    public IReadOnlyList<string> Problems => Incomplete ?? [];

    public IReadOnlyList<ImageSecret> SecretsFound => Secrets ?? [];
}

/// <summary>A secret in a file one of the image's own layers added: rule, severity, where (layer, path, line), the value masked.</summary>
public sealed record ImageSecret(string RuleId, string Title, string Severity, FileLocation Location, int Line, string Masked);

/// <summary>Merged layers → packages → advisories: the pure part of a scan.</summary>
public static class ImageScanner
{
    /// <summary>Scans a saved image stream (the tar of <c>docker save</c>) with the default limits.</summary>
    public static async Task<ScanResult> ScanAsync(Stream savedImage, AdvisoryDatabase database, CancellationToken cancellationToken) =>
        Scan(LayerMerger.Merge(await SavedImageReader.ReadLayersAsync(savedImage, new ScanBudget(ScanLimits.Default), cancellationToken)), database);

    public static ScanResult Scan(ImageFiles files, AdvisoryDatabase database) =>
        Scan(new MergedImage(files, [], new HashSet<string>()), database);

    public static ScanResult Scan(MergedImage image, AdvisoryDatabase database, IEnumerable<string>? readProblems = null)
    {
        var warnings = new List<string>();
        var files = image.Files;
        var distro = DistroReader.Read(files);
        var packages = DefaultCatalogers.All.SelectMany(c => c.Catalog(files, distro, warnings)).ToList();
        packages.AddRange(image.GoBinaries.SelectMany(g => GoPackages.From(g.Info, new FileLocation(g.Layer, "/" + g.Path))));
        var problems = new List<string>(readProblems ?? []);
        problems.AddRange(image.LayerProblems);
        problems.AddRange(image.Unreadable.Select(u => $"/{u.Path} is {u.Reason} (layer {Short(u.Layer)}): its packages could not be read"));
        problems.AddRange(image.RemovedDatabases.Select(r =>
            $"/{r.Path} (layer {Short(r.AddedIn)}) was removed by layer {Short(r.RemovedIn)}: the image's OS packages cannot be listed"));
        problems.AddRange(image.RemovedDatabases.Count > 0 ? [] : MissingDatabases(image));
        problems.AddRange(UnreadableDatabases(files, packages));

        problems.AddRange(UnlistedDistro(distro, files, image));
        if (problems.Count > MaxProblems)
        {
            var more = problems.Count - MaxProblems;
            problems.RemoveRange(MaxProblems, more);
            problems.Add($"and {more} more");
        }
        var (matched, coverage) = ReleaseCoverageRules.Apply(distro, packages, database);
        if (coverage is not null)
        {
            warnings.Add(coverage.Message);
        }
        warnings.AddRange(UncoveredEcosystems(matched, database));
        return new ScanResult(distro, matched, Matcher.Match(matched, database), warnings, problems, coverage);
    }

    /// <summary>The longest list of problems a result keeps.</summary>
    public const int MaxProblems = 1000;

    /// <summary>An os-release naming a distribution with a package manager, and no package database of it anywhere.</summary>
    private static IEnumerable<string> UnlistedDistro(Distro? distro, ImageFiles files, MergedImage image)
    {
        var database = distro?.Id switch
        {
            "debian" or "ubuntu" => "var/lib/dpkg/",
            "alpine" => "lib/apk/db/",
            _ => null,
        };
        if (database is not null && image.RemovedDatabases.Count == 0 && image.Managers.Count == 0
            && !files.All.Any(f => DefaultCatalogers.IsOsDatabase(f.Path))
            && !image.Unreadable.Any(u => DefaultCatalogers.IsOsDatabase(u.Path) || u.Path.StartsWith(database, StringComparison.Ordinal)))
        {
            yield return $"the image says it is {distro!.Id} {distro.VersionId} but holds no package database (/{database}): its OS packages cannot be listed";
        }
    }

    /// <summary>A package manager still in the image whose database is gone (deleted by a whiteout, or never there).</summary>
    private static IEnumerable<string> MissingDatabases(MergedImage image)
    {
        foreach (var manager in image.Managers.Order(StringComparer.Ordinal))
        {
            var databases = PackageManagers.Databases[manager];
            var present = image.Files.All.Any(f => databases.Any(d => d.EndsWith('/') ? f.Path.StartsWith(d, StringComparison.Ordinal) : f.Path == d))
                          || image.Unreadable.Any(u => databases.Any(d => u.Path.StartsWith(d.TrimEnd('/'), StringComparison.Ordinal)));
            if (!present)
            {
                yield return $"/{manager} is in the image but its package database (/{databases[0]}) is not: the image's OS packages cannot be listed";
            }
        }
    }

    /// <summary>An OS package database that exists but yields no package: malformed, truncated or emptied.</summary>
    private static IEnumerable<string> UnreadableDatabases(ImageFiles files, List<Package> packages)
    {
        foreach (var file in files.All.Where(f => DefaultCatalogers.IsOsDatabase(f.Path)))
        {
            if (!packages.Any(p => p.Location.Path == "/" + file.Path))
            {
                yield return file.Content.Length == 0
                    ? $"/{file.Path} is empty (layer {Short(file.Layer)}): the image's OS packages cannot be listed"
                    : $"/{file.Path} could not be read as a package database (layer {Short(file.Layer)}): it lists no installed package";
            }
        }
    }

    private static IEnumerable<string> UncoveredEcosystems(IReadOnlyList<Package> packages, AdvisoryDatabase database) =>
        packages.Where(p => p.Type is not (PackageType.Deb or PackageType.Apk) && p.Ecosystem is { } e && !database.HasEcosystem(e))
            .GroupBy(p => p.Ecosystem!, StringComparer.Ordinal)
            .Select(g => $"{g.Count()} {g.Key} package(s) were not checked: the advisory database has no {g.Key} advisories");

    internal static string Short(string layer) =>
        layer.StartsWith("sha256:", StringComparison.Ordinal) && layer.Length > 19 ? layer[..19] : layer;
}
