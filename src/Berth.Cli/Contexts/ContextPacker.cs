using System.Formats.Tar;
using System.IO.Compression;
using Berth.Scanner.Layers;
using Microsoft.Win32.SafeHandles;

namespace Berth.Cli.Contexts;

/// <summary>A context entry that cannot be sent; the message names the path and what to do.</summary>
public sealed class ContextRefusedException(string message) : Exception(message);

/// <summary>
/// Packs a directory as a build context (a .tar.gz), the way <c>docker build DIR</c> does: the directory's
/// <c>.dockerignore</c> (or <c>&lt;Dockerfile&gt;.dockerignore</c> beside the Dockerfile, which wins, as with BuildKit)
/// leaves paths out; entries are sorted, owned by 0:0, and keep their mode and modification time. Symbolic links
/// are packed as links and never followed; a link that points outside the directory (absolute, or climbing above it)
/// is refused, as are devices, FIFOs and sockets (the server refuses them too): list them in .dockerignore.
/// </summary>
public static class ContextPacker
{
    public const string IgnoreFile = ".dockerignore";

    /// <summary>Writes the gzipped tar of <paramref name="directory"/> to <paramref name="destination"/>; returns the paths packed.</summary>
    public static IReadOnlyList<string> Pack(string directory, DockerIgnore ignore, Stream destination)
    {
        var root = new DirectoryInfo(directory);
        if (!root.Exists)
        {
            throw new ContextRefusedException($"the context directory '{directory}' does not exist");
        }
        var packed = new List<string>();
        using var handle = LinuxFiles.OpenDirectory(root.FullName);
        using var gzip = new GZipStream(destination, CompressionLevel.Fastest, leaveOpen: true);
        using var writer = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
        new Walker(handle, ignore, writer, packed, LinuxFiles.HasOpenat2()).Walk(root, "");
        return packed;
    }

    /// <summary>The ignore rules for a context: <c>&lt;dockerfile&gt;.dockerignore</c> when it exists, else the context's own.</summary>
    public static DockerIgnore IgnoreFor(string contextDirectory, string? dockerfilePath)
    {
        if (dockerfilePath is not null && File.Exists(dockerfilePath + IgnoreFile))
        {
            return DockerIgnore.Load(dockerfilePath + IgnoreFile);
        }
        return DockerIgnore.Load(Path.Combine(contextDirectory, IgnoreFile));
    }

    private sealed class Walker(SafeFileHandle root, DockerIgnore ignore, TarWriter writer, List<string> packed, bool openat2)
    {
        public void Walk(DirectoryInfo directory, string prefix)
        {
            foreach (var item in directory.EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
            {
                var path = prefix + item.Name;
                var ignored = ignore.Ignores(path);
                var type = LinuxFiles.StatNoFollow(root, path).Type;
                if (type == LinuxFiles.S_IFDIR)
                {
                    if (!ignored)
                    {
                        Add(Entry(TarEntryType.Directory, path + "/", item), path + "/");
                    }
                    if (!ignored || ignore.MayIncludeUnder(path))
                    {
                        Walk((DirectoryInfo)item, path + "/");
                    }
                    continue;
                }
                if (ignored)
                {
                    continue;
                }
                if (type == LinuxFiles.S_IFLNK)
                {
                    AddLink(item, path); // never followed, not even into a linked directory
                }
                else if (type == LinuxFiles.S_IFREG)
                {
                    AddFile(item, path);
                }
                else
                {
                    throw new ContextRefusedException($"'{path}' in the context is a {Describe(type)}, not a file, directory or link; Berth does not accept it: list it in {IgnoreFile}");
                }
            }
        }

        private void AddFile(FileSystemInfo item, string path)
        {
            // openat2 beneath the context with no link resolved: what is read is the file that was checked, inside the directory.
            using var data = openat2 ? LinuxFiles.OpenBeneath(root, path) : new FileStream(item.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024);
            if (openat2 && LinuxFiles.StatOf(data.SafeFileHandle).Type != LinuxFiles.S_IFREG)
            {
                throw new ContextRefusedException($"'{path}' in the context changed while it was packed; try again");
            }
            var entry = Entry(TarEntryType.RegularFile, path, item);
            entry.DataStream = data;
            Add(entry, path);
        }

        private void AddLink(FileSystemInfo item, string path)
        {
            var target = item.LinkTarget ?? "";
            if (!StaysInside(path, target))
            {
                throw new ContextRefusedException($"'{path}' in the context is a link to '{target}', outside the context directory; Berth refuses such links " +
                    $"(they would let a build read the host's files): replace it with a copy or list it in {IgnoreFile}");
            }
            var entry = Entry(TarEntryType.SymbolicLink, path, item);
            entry.LinkName = target;
            Add(entry, path);
        }

        private void Add(PaxTarEntry entry, string path)
        {
            writer.WriteEntry(entry);
            packed.Add(path);
        }

        private static string Describe(uint type) => type switch
        {
            0x1000 => "FIFO",
            0xC000 => "socket",
            LinuxFiles.S_IFCHR => "character device",
            0x6000 => "block device",
            _ => "special file",
        };
    }

    /// <summary>A relative link target that, resolved lexically from the link's directory, stays inside the context.</summary>
    internal static bool StaysInside(string path, string target)
    {
        if (target.Length == 0 || target.StartsWith('/') || target.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }
        var depth = path.Count(c => c == '/');
        foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            depth += part switch { "." => 0, ".." => -1, _ => 1 };
            if (depth < 0)
            {
                return false;
            }
        }
        return true;
    }

    private static PaxTarEntry Entry(TarEntryType type, string name, FileSystemInfo item) => new(type, name)
    {
        Mode = item.UnixFileMode,
        ModificationTime = item.LastWriteTimeUtc,
        Uid = 0,
        Gid = 0,
    };
}
