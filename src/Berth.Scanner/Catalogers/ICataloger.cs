using Berth.Scanner.Layers;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Catalogers;

/// <summary>Finds one kind of package. Catalogers are listed, in order, in <see cref="Catalogers"/>.</summary>
public interface ICataloger
{
    string Name { get; }

    /// <summary>Whether the image reader should keep this file (path relative to the root, no leading slash).</summary>
    bool Wants(string path);

    /// <summary>Packages in the files. A corrupt file is skipped with a line in <paramref name="warnings"/>, never thrown.</summary>
    IReadOnlyList<Package> Catalog(ImageFiles files, Distro? distro, ICollection<string> warnings);
}

/// <summary>Every cataloger, in order.</summary>
public static class DefaultCatalogers
{
    private static readonly Dpkg.DpkgCataloger DpkgDatabase = new();
    private static readonly Apk.ApkCataloger ApkDatabase = new();

    public static readonly IReadOnlyList<ICataloger> All =
    [
        DpkgDatabase,
        ApkDatabase,
        new Python.PythonCataloger(),
        new Npm.NpmCataloger(),
    ];

    /// <summary>True when the OS reader or any cataloger wants the path.</summary>
    public static bool Wanted(string path) => Os.DistroReader.Wants(path) || All.Any(c => c.Wants(path));

    /// <summary>True for an OS package database (dpkg status, apk installed): these may be large, and must be readable.</summary>
    public static bool IsOsDatabase(string path) => DpkgDatabase.Wants(path) || ApkDatabase.Wants(path);
}
