using System.Runtime.InteropServices;

namespace Berth.Server.Pipeline;

/// <summary>The libc calls .NET lacks: chown, used on directories Berth itself created, and statvfs, for inodes.</summary>
internal static partial class NativeFiles
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, int owner, int group);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statvfs(string path, Span<byte> buffer);

    public static void Chown(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
        {
            throw new IOException($"cannot give {path} to {uid}:{gid} (errno {Marshal.GetLastPInvokeError()}); Berth must run as root to own job directories");
        }
    }

    /// <summary>
    /// statvfs(3) of the filesystem holding <paramref name="path"/>: bytes and inodes an unprivileged user can
    /// still use (<c>f_bavail × f_frsize</c>, <c>f_favail</c>) and the inode total (<c>f_files</c>).
    /// The offsets are those of 64-bit glibc (x86-64 and arm64), where every field before <c>f_fsid</c> is 8 bytes.
    /// </summary>
    public static (ulong FreeBytes, ulong FreeInodes, ulong Inodes) FreeSpace(string path)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (statvfs(path, buffer) != 0)
        {
            throw new IOException($"statvfs {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        var fragmentSize = BitConverter.ToUInt64(buffer[8..16]);
        var availableBlocks = BitConverter.ToUInt64(buffer[32..40]);
        var inodes = BitConverter.ToUInt64(buffer[40..48]);
        var availableInodes = BitConverter.ToUInt64(buffer[56..64]);
        return (availableBlocks * fragmentSize, availableInodes, inodes);
    }
}
