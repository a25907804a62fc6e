using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Berth.Scanner.Layers;

/// <summary>
/// The Linux calls a layer directory reader needs and .NET lacks: <c>openat2</c> with
/// <c>RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS</c> (a path can neither climb out of the layer nor pass through
/// a link), <c>statx</c> without following links, and <c>lgetxattr</c> for overlayfs' opaque marker.
/// </summary>
internal static partial class LinuxFiles
{
    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000;
    private const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08;
    private const int AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
    private const uint STATX_BASIC = 0x7ff;
    private const long SYS_openat2 = 437;

    public const uint S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000, S_IFLNK = 0xA000, S_IFCHR = 0x2000;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long syscall(long number, int dirfd, string path, ref OpenHow how, nuint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, Span<byte> buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint lgetxattr(string path, string name, Span<byte> value, nuint size);

    /// <summary>File type and permission bits, size, link count, device number (for overlayfs whiteouts: 0/0).</summary>
    public readonly record struct Stat(uint Mode, long Size, uint Links, uint RdevMajor, uint RdevMinor)
    {
        public uint Type => Mode & S_IFMT;
    }

    /// <summary>A directory to resolve paths beneath; the caller disposes it.</summary>
    public static SafeFileHandle OpenDirectory(string path)
    {
        var fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
        {
            throw new IOException($"{path} cannot be opened as a directory (errno {Marshal.GetLastPInvokeError()})");
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Opens <paramref name="relative"/> beneath <paramref name="root"/> for reading; no symbolic link is followed anywhere on the path.</summary>
    public static FileStream OpenBeneath(SafeFileHandle root, string relative)
    {
        var how = new OpenHow
        {
            Flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
            Resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        var fd = syscall(SYS_openat2, (int)root.DangerousGetHandle(), relative, ref how, (nuint)Marshal.SizeOf<OpenHow>());
        if (fd < 0)
        {
            throw new IOException($"{relative} cannot be opened inside the layer (errno {Marshal.GetLastPInvokeError()})");
        }
        return new FileStream(new SafeFileHandle((nint)fd, ownsHandle: true), FileAccess.Read, bufferSize: 0);
    }

    /// <summary>lstat of <paramref name="relative"/> under <paramref name="root"/>; an <see cref="IOException"/> when it cannot be had.</summary>
    public static Stat StatNoFollow(SafeFileHandle root, string relative)
    {
        Span<byte> buffer = stackalloc byte[256];
        return statx((int)root.DangerousGetHandle(), relative, AT_SYMLINK_NOFOLLOW, STATX_BASIC, buffer) == 0
            ? Parse(buffer)
            : throw new IOException($"{relative} cannot be inspected inside the layer (errno {Marshal.GetLastPInvokeError()})");
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint realpath(string path, nint resolved);

    [LibraryImport("libc")]
    private static partial void free(nint pointer);

    /// <summary>The canonical path, every link resolved; null when it does not exist.</summary>
    public static string? RealPath(string path)
    {
        var resolved = realpath(path, 0);
        if (resolved == 0)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            free(resolved);
        }
    }

    /// <summary>fstat of an open file.</summary>
    public static Stat StatOf(SafeFileHandle file)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (statx((int)file.DangerousGetHandle(), "", AT_EMPTY_PATH, STATX_BASIC, buffer) != 0)
        {
            throw new IOException($"an open layer file cannot be inspected (errno {Marshal.GetLastPInvokeError()})");
        }
        return Parse(buffer);
    }

    /// <summary>True when the directory carries overlayfs' opaque marker (<c>trusted.overlay.opaque=y</c>).</summary>
    public static bool IsOpaque(string directory)
    {
        Span<byte> value = stackalloc byte[4];
        var n = lgetxattr(directory, "trusted.overlay.opaque", value, 4);
        return n == 1 && value[0] == (byte)'y';
    }

    /// <summary>True when this kernel has openat2 (Linux 5.6 and later).</summary>
    public static bool HasOpenat2()
    {
        using var root = OpenDirectory("/");
        try
        {
            using var stream = OpenBeneath(root, ".");
            return true;
        }
        catch (IOException)
        {
            return Marshal.GetLastPInvokeError() != 38; // ENOSYS: no openat2; anything else: it exists
        }
    }

    private static Stat Parse(ReadOnlySpan<byte> b) => new(
        MemoryMarshal.Read<ushort>(b[28..]),
        MemoryMarshal.Read<long>(b[40..]),
        MemoryMarshal.Read<uint>(b[16..]),
        MemoryMarshal.Read<uint>(b[128..]),
        MemoryMarshal.Read<uint>(b[132..]));
}
