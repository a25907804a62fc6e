using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Server.Configuration;

/// <summary>
/// This Berth's identity, kept in <c>&lt;DataRoot&gt;/instance</c>: a random id (in every engine name and label:
/// <c>berth-&lt;id&gt;/job-&lt;job&gt;</c>, <c>berth.instance=&lt;id&gt;</c>) and a random secret. Created once, on the first
/// start; two Berths never share one, even when their DataRoot paths are the same text (two containers).
/// A malformed file stops the start-up: a new id would orphan everything the old one owns on the engine.
/// </summary>
public sealed partial class InstanceIdentity
{
    public const string FileName = "instance";

    private readonly byte[] _secret;

    private InstanceIdentity(string id, byte[] secret)
    {
        Id = id;
        _secret = secret;
    }

    /// <summary>12 lowercase hex digits.</summary>
    public string Id { get; }

    /// <summary>32 random bytes (a copy): the key of <see cref="CacheKeyFor"/>.</summary>
    public byte[] Secret => (byte[])_secret.Clone();

    /// <summary>The owner's build cache key: HMAC-SHA256(Secret, owner) as 32 lowercase hex digits.</summary>
    public string CacheKeyFor(string owner) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes(owner)))[..32];

    /// <summary>Reads <c>&lt;dataRoot&gt;/instance</c>, or creates it when there is none (race-free between processes).</summary>
    /// <exception cref="InvalidDataException">The file exists but is not an identity Berth wrote.</exception>
    public static InstanceIdentity LoadOrCreate(string dataRoot)
    {
        Directory.CreateDirectory(dataRoot);
        var path = Path.Combine(Path.GetFullPath(dataRoot), FileName);
        if (!File.Exists(path))
        {
            TryCreate(path, Format(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), RandomNumberGenerator.GetBytes(32)));
        }
        return Parse(File.ReadAllText(path), path);
    }

    internal static string Format(string id, byte[] secret) => $"id {id}\nsecret {Convert.ToHexStringLower(secret)}\n";

    internal static InstanceIdentity Parse(string text, string path)
    {
        var match = FilePattern().Match(text);
        if (!match.Success)
        {
            throw new InvalidDataException(
                $"{path} is malformed: Berth expects exactly the two lines \"id <12 lowercase hex digits>\" and \"secret <64 lowercase hex digits>\". "
                + "The id names this Berth's containers and images on the engine, so Berth does not replace it: restore the file from a backup, "
                + "or delete it only once the engine holds no container or image of this instance (a new id is then created).");
        }
        return new InstanceIdentity(match.Groups["id"].Value, Convert.FromHexString(match.Groups["secret"].Value));
    }

    /// <summary>
    /// Writes a complete temporary file, then hard-links it to <paramref name="path"/>: link(2) never overwrites, so of two
    /// processes starting at once exactly one identity wins and the other reads it.
    /// </summary>
    private static void TryCreate(string path, string content)
    {
        var temp = $"{path}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp";
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                stream.Write(Encoding.ASCII.GetBytes(content));
                stream.Flush(flushToDisk: true);
            }
            if (link(temp, path) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != EEXIST)
                {
                    throw new IOException($"cannot create {path} (link errno {errno}); the data root must be on a file system with hard links");
                }
            }
            SyncDirectory(Path.GetDirectoryName(path)!);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>The new name must survive a crash: an id lost after the engine saw it orphans what it named.</summary>
    private static void SyncDirectory(string directory)
    {
        var fd = open(directory, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"cannot open {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }
        try
        {
            if (fsync(fd) != 0)
            {
                throw new IOException($"cannot sync {directory} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    private const int EEXIST = 17;
    private const int O_RDONLY = 0;
    private const int O_CLOEXEC = 0x80000; // the same on x86-64 and arm64

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string oldPath, string newPath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [GeneratedRegex(@"\Aid (?<id>[0-9a-f]{12})\nsecret (?<secret>[0-9a-f]{64})\n?\z")]
    private static partial Regex FilePattern();
}
