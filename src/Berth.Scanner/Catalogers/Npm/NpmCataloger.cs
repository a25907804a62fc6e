using System.Text.Json;
using Berth.Scanner.Json;
using Berth.Scanner.Layers;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Catalogers.Npm;

/// <summary>
/// npm packages:
/// <list type="bullet">
/// <item>installed: <c>node_modules/&lt;name&gt;/package.json</c> and <c>node_modules/@scope/&lt;name&gt;/package.json</c>, at any depth
/// (nested <c>node_modules</c>, pnpm's <c>.pnpm</c> store, global installs). A project's own <c>package.json</c> is not a dependency and is not read;</item>
/// <item>lockfile only: <c>package-lock.json</c> (lockfileVersion 1, 2, 3) or <c>npm-shrinkwrap.json</c> of a project with nothing installed in the
/// <c>node_modules</c> beside it, as <see cref="PackageEvidence.Lockfile"/>. When something is installed there, the installed packages
/// win and the lockfile adds nothing. Development dependencies (<c>"dev": true</c>) are skipped, as Trivy does by default: a production
/// image is built with <c>npm ci --omit=dev</c>, and its leftover lockfile still lists them. Lockfiles inside <c>node_modules</c> (shipped in a
/// published package) are not read: what they name is installed, and read, elsewhere.</item>
/// </list>
/// Each file is read with <see cref="StrictJson"/>; one it refuses is skipped with a warning.
/// </summary>
public sealed class NpmCataloger : ICataloger
{
    private const int MaxDepth = 64;

    /// <summary>Distinct packages read from one lockfile at most (large real lockfiles list a few thousand): past it the rest is skipped with a warning.</summary>
    internal const int MaxLockfilePackages = 50_000;

    private const string NodeModules = "node_modules";
    private const string PackageJson = "package.json";
    private const string PackageLock = "package-lock.json";
    private const string Shrinkwrap = "npm-shrinkwrap.json";

    /// <summary>Which npm file a path is.</summary>
    internal enum NpmFile
    {
        None,
        InstalledPackageJson,
        PackageLock,
        Shrinkwrap,
    }

    public string Name => "npm";

    public bool Wants(string path) => Classify(path) != NpmFile.None;

    /// <summary>What <paramref name="path"/> is: a look at its last three or four segments, no allocation.</summary>
    internal static NpmFile Classify(ReadOnlySpan<char> path)
    {
        var file = LastSegment(path, out var directory);
        if (file.SequenceEqual(PackageJson))
        {
            return IsPackageDirectory(directory) ? NpmFile.InstalledPackageJson : NpmFile.None;
        }
        if (file.SequenceEqual(PackageLock) || file.SequenceEqual(Shrinkwrap))
        {
            if (IndexOfSegment(directory, NodeModules, last: false) >= 0)
            {
                return NpmFile.None;
            }
            return file[0] == 'p' ? NpmFile.PackageLock : NpmFile.Shrinkwrap;
        }
        return NpmFile.None;
    }

    /// <summary><c>…/node_modules/name</c> or <c>…/node_modules/@scope/name</c>.</summary>
    private static bool IsPackageDirectory(ReadOnlySpan<char> directory)
    {
        var name = LastSegment(directory, out var parent);
        if (name.IsEmpty || name[0] == '@' || name.SequenceEqual(NodeModules))
        {
            return false;
        }
        var container = LastSegment(parent, out var grandparent);
        return container.SequenceEqual(NodeModules)
            || (container.Length > 1 && container[0] == '@' && LastSegment(grandparent, out _).SequenceEqual(NodeModules));
    }

    /// <summary>The text after the last <c>/</c> (all of it when none); <paramref name="parent"/> is what comes before the slash.</summary>
    private static ReadOnlySpan<char> LastSegment(ReadOnlySpan<char> path, out ReadOnlySpan<char> parent)
    {
        var slash = path.LastIndexOf('/');
        parent = slash < 0 ? [] : path[..slash];
        return path[(slash + 1)..];
    }

    /// <summary>Where <paramref name="segment"/> stands as a whole path segment (first or last occurrence), or -1.</summary>
    private static int IndexOfSegment(ReadOnlySpan<char> path, string segment, bool last)
    {
        var searched = path;
        while (true)
        {
            var at = last ? searched.LastIndexOf(segment, StringComparison.Ordinal) : searched.IndexOf(segment, StringComparison.Ordinal);
            if (at < 0)
            {
                return -1;
            }
            var offset = last ? 0 : path.Length - searched.Length;
            var start = offset + at;
            var end = start + segment.Length;
            if ((start == 0 || path[start - 1] == '/') && (end == path.Length || path[end] == '/'))
            {
                return start;
            }
            searched = last ? searched[..at] : searched[(at + 1)..];
        }
    }

    public IReadOnlyList<Package> Catalog(ImageFiles files, Distro? distro, ICollection<string> warnings)
    {
        var packages = new List<Package>();
        var installedProjects = new HashSet<string>(StringComparer.Ordinal); // directories whose node_modules holds a package
        var lockfiles = new List<ImageFile>();
        foreach (var file in files.All)
        {
            switch (Classify(file.Path))
            {
                case NpmFile.InstalledPackageJson:
                    var project = IndexOfSegment(file.Path, NodeModules, last: false);
                    installedProjects.Add(project == 0 ? "" : file.Path[..(project - 1)]);
                    ReadPackageJson(file, packages, warnings);
                    break;
                case NpmFile.PackageLock or NpmFile.Shrinkwrap:
                    lockfiles.Add(file);
                    break;
            }
        }
        foreach (var file in lockfiles)
        {
            var slash = file.Path.LastIndexOf('/');
            var directory = slash < 0 ? "" : file.Path[..slash];
            if (installedProjects.Contains(directory))
            {
                continue; // installed packages win
            }
            if (Classify(file.Path) == NpmFile.PackageLock && files.Get(slash < 0 ? Shrinkwrap : $"{directory}/{Shrinkwrap}") is not null)
            {
                continue; // npm follows the shrinkwrap and ignores package-lock.json
            }
            ReadLockfile(file, packages, warnings);
        }
        return packages;
    }

    private static void ReadPackageJson(ImageFile file, List<Package> packages, ICollection<string> warnings)
    {
        try
        {
            using var json = StrictJson.Parse(file.Content, MaxDepth);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                && json.RootElement.TryGetProperty("version", out var version) && version.ValueKind == JsonValueKind.String
                && name.GetString() is { Length: > 0 } n && version.GetString() is { Length: > 0 } v)
            {
                packages.Add(new Package(n, v, PackageType.Npm, "npm", n, v, new FileLocation(file.Layer, "/" + file.Path)));
            }
            else
            {
                warnings.Add($"npm: /{file.Path} has no string name and version");
            }
        }
        catch (StrictJsonException e)
        {
            warnings.Add($"npm: /{file.Path} is not valid JSON ({e.Message})");
        }
    }

    private static void ReadLockfile(ImageFile file, List<Package> packages, ICollection<string> warnings)
    {
        try
        {
            using var json = StrictJson.Parse(file.Content, MaxDepth);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                warnings.Add($"npm: /{file.Path} is not a lockfile (not a JSON object)");
                return;
            }
            var lockfileVersion = root.TryGetProperty("lockfileVersion", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n : 0;
            if (lockfileVersion is < 1 or > 3)
            {
                warnings.Add($"npm: /{file.Path} has no lockfileVersion 1, 2 or 3; read by its shape");
            }
            var reader = new LockfileReader(file);
            var hasPackages = root.TryGetProperty("packages", out var packageMap);
            var hasDependencies = root.TryGetProperty("dependencies", out var dependencyMap);
            if ((lockfileVersion != 1 || !hasDependencies) && hasPackages && packageMap.ValueKind == JsonValueKind.Object)
            {
                reader.ReadPackages(packageMap); // v2 lists both; "packages" is the complete one
            }
            else if (hasDependencies && dependencyMap.ValueKind == JsonValueKind.Object)
            {
                reader.ReadDependencies(dependencyMap);
            }
            else if (hasPackages || hasDependencies)
            {
                warnings.Add($"npm: /{file.Path} has \"packages\" or \"dependencies\" that is not an object");
            }
            if (reader.Malformed > 0)
            {
                warnings.Add($"npm: /{file.Path} has {reader.Malformed} entries that are not objects with a string version; they were skipped");
            }
            if (reader.Truncated)
            {
                warnings.Add($"npm: /{file.Path} lists more than {MaxLockfilePackages} packages; the rest were not read");
            }
            packages.AddRange(reader.Packages);
        }
        catch (StrictJsonException e)
        {
            warnings.Add($"npm: /{file.Path} is not valid JSON ({e.Message})");
        }
    }

    /// <summary>The packages one lockfile names, each name and version once.</summary>
    private sealed class LockfileReader(ImageFile file)
    {
        private readonly HashSet<(string, string)> _seen = [];
        private readonly FileLocation _location = new(file.Layer, "/" + file.Path);

        public List<Package> Packages { get; } = [];

        public int Malformed { get; private set; }

        public bool Truncated { get; private set; }

        /// <summary>
        /// v2/v3 <c>"packages"</c>: keys are install paths (<c>node_modules/a/node_modules/@s/b</c>). <c>""</c> is the project and keys
        /// outside <c>node_modules</c> are its workspaces (its own code); links point at a workspace. An entry's <c>"name"</c>, when there,
        /// is the real name of an aliased package (<c>"x": "npm:real@1.0.0"</c>).
        /// </summary>
        public void ReadPackages(JsonElement packages)
        {
            foreach (var member in packages.EnumerateObject())
            {
                var at = IndexOfSegment(member.Name, NodeModules, last: true);
                if (at < 0)
                {
                    continue;
                }
                var entry = member.Value;
                if (entry.ValueKind != JsonValueKind.Object)
                {
                    Malformed++;
                    continue;
                }
                if (IsTrue(entry, "link") || IsTrue(entry, "dev"))
                {
                    continue;
                }
                var nameStart = at + NodeModules.Length + 1;
                var name = String(entry, "name") ?? (nameStart < member.Name.Length ? member.Name[nameStart..] : null);
                if (name is not { Length: > 0 } || String(entry, "version") is not { Length: > 0 } version)
                {
                    Malformed++;
                    continue;
                }
                Add(name, version);
            }
        }

        /// <summary>
        /// v1 <c>"dependencies"</c>: name → entry, nested the way node_modules was. A dev entry is skipped with what nests in it (only
        /// it uses them). An alias has the version <c>npm:real@1.0.0</c>; git, file and URL versions name nothing in the registry.
        /// Recursion is bounded by the JSON depth limit.
        /// </summary>
        public void ReadDependencies(JsonElement dependencies)
        {
            foreach (var member in dependencies.EnumerateObject())
            {
                var entry = member.Value;
                if (entry.ValueKind != JsonValueKind.Object || String(entry, "version") is not { Length: > 0 } version)
                {
                    Malformed++;
                    continue;
                }
                if (IsTrue(entry, "dev"))
                {
                    continue;
                }
                var name = member.Name;
                if (version.StartsWith("npm:", StringComparison.Ordinal) && version.LastIndexOf('@') is var at and > 4)
                {
                    (name, version) = (version[4..at], version[(at + 1)..]);
                }
                if (name.Length > 0 && version.Length > 0 && version.IndexOfAny([':', '/']) < 0)
                {
                    Add(name, version);
                }
                if (entry.TryGetProperty("dependencies", out var nested) && nested.ValueKind == JsonValueKind.Object)
                {
                    ReadDependencies(nested);
                }
            }
        }

        private void Add(string name, string version)
        {
            if (_seen.Count >= MaxLockfilePackages)
            {
                Truncated |= !_seen.Contains((name, version));
                return;
            }
            if (_seen.Add((name, version)))
            {
                Packages.Add(new Package(name, version, PackageType.Npm, "npm", name, version, _location, PackageEvidence.Lockfile));
            }
        }

        private static bool IsTrue(JsonElement entry, string property) =>
            entry.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.True;

        private static string? String(JsonElement entry, string property) =>
            entry.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }
}
