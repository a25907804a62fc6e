using Berth.Scanner.Advisories;
using Berth.Scanner.Packages;
using Berth.Scanner.Versions;

namespace Berth.Scanner.Coverage;

/// <summary>
/// An OS release the advisory database does not cover. <see cref="MatchedAs"/> is the covered release its
/// packages were matched against instead (the nearest one of the same family), or null when the database
/// has no release of that family at all and the OS packages went unchecked.
/// </summary>
public sealed record ReleaseCoverage(string Release, string? MatchedAs, int Packages, string Message);

/// <summary>
/// Decides which ecosystem an image's OS packages are matched in. An image cannot escape OS matching by
/// editing <c>os-release</c>: a release the database lacks (newer, unknown, or implausible such as
/// <c>VERSION_ID="x"</c>) and an unknown <c>ID</c> over a dpkg or apk database are matched against the nearest
/// covered release of the family the package database itself shows (dpkg → Debian, apk → Alpine), and the
/// scan says so.
/// </summary>
public static class ReleaseCoverageRules
{
    public static (IReadOnlyList<Package> Packages, ReleaseCoverage? Coverage) Apply(Distro? distro, IReadOnlyList<Package> packages, AdvisoryDatabase database)
    {
        var adjusted = packages.ToList();
        var notes = new List<ReleaseCoverage>();
        // Each package database decides its own family: an os-release cannot move apk packages into Debian, or back.
        foreach (var type in new[] { PackageType.Deb, PackageType.Apk })
        {
            var os = adjusted.Where(p => p.Type == type).ToList();
            if (os.Count == 0)
            {
                continue;
            }
            var family = type == PackageType.Apk ? "Alpine" : FamilyOf(distro?.Id) is "Ubuntu" ? "Ubuntu" : "Debian";
            var wanted = distro is not null && FamilyOf(distro.Id) == family ? distro.Ecosystem : null;
            string? matchAs;
            if (wanted is not null && database.HasEcosystem(wanted))
            {
                matchAs = wanted;
            }
            else
            {
                var release = distro is null ? $"an image with no os-release ({type.ToWire()} packages)" : $"{distro.Id} {distro.VersionId}".TrimEnd();
                var covered = database.Ecosystems.Keys.Where(e => VersionSchemes.BaseEcosystem(e) == family).ToList();
                if (covered.Count == 0)
                {
                    notes.Add(new ReleaseCoverage(release, null, os.Count,
                        $"{release} is not covered: the advisory database has no {family} data, so its {os.Count} OS packages were not checked"));
                    matchAs = null;
                }
                else
                {
                    matchAs = Nearest(covered, wanted);
                    var span = $"{covered.OrderBy(Key).First()}–{covered.OrderBy(Key).Last()}";
                    notes.Add(new ReleaseCoverage(release, matchAs, os.Count,
                        $"{release} is not covered by the advisory database (it has {span}); its {os.Count} OS packages were matched against {matchAs}, the nearest covered release, so findings may be missing"));
                }
            }
            for (var i = 0; matchAs is not null && i < adjusted.Count; i++)
            {
                if (adjusted[i].Type == type && adjusted[i].Ecosystem != matchAs)
                {
                    adjusted[i] = adjusted[i] with { Ecosystem = matchAs };
                }
            }
        }
        var coverage = notes.Count switch
        {
            0 => null,
            1 => notes[0],
            _ => new ReleaseCoverage(notes[0].Release, notes[0].MatchedAs, notes.Sum(n => n.Packages),
                $"the image holds both dpkg and apk databases; {string.Join("; ", notes.Select(n => n.Message))}"),
        };
        return (adjusted, coverage);
    }

    private static string? FamilyOf(string? id) => id switch
    {
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "alpine" => "Alpine",
        _ => null,
    };

    /// <summary>The covered release closest to the wanted one; the newest when the wanted one has no number.</summary>
    private static string Nearest(List<string> covered, string? wanted)
    {
        var target = wanted is null ? (double?)null : Key(wanted);
        return target is { } t && t > 0
            ? covered.OrderBy(c => Math.Abs(Key(c) - t)).ThenByDescending(Key).First()
            : covered.OrderByDescending(Key).First();
    }

    /// <summary><c>Debian:11</c> → 11, <c>Alpine:v3.11</c> → 3.11, <c>Ubuntu:22.04:LTS</c> → 22.04; 0 when there is no number.</summary>
    private static double Key(string ecosystem)
    {
        var parts = ecosystem.Split(':');
        if (parts.Length < 2)
        {
            return 0;
        }
        var version = parts[1].TrimStart('v').Split('.');
        var major = int.TryParse(version[0], out var m) ? m : 0;
        var minor = version.Length > 1 && int.TryParse(version[1], out var n) ? n : 0;
        return major + minor / 1000.0;
    }
}
