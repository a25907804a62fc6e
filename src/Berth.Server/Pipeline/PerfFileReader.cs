using System.Runtime.InteropServices;
using System.Text.Json;
using Berth.Scanner.Json;
using Berth.Server.Jobs;
using Microsoft.Win32.SafeHandles;
using Berth.Scanner;

namespace Berth.Server.Pipeline;

/// <summary>
/// Reads <c>perf.json</c> from a job's data directory without trusting anything the container made:
/// the file is opened with O_NOFOLLOW (a symlink is refused, never followed) and O_NONBLOCK (a FIFO
/// cannot hang the reader), must be a regular file of at most 64 KiB, and must hold a JSON object
/// whose <c>perf</c> is a finite number. The JSON is read with <see cref="StrictJson"/>: no duplicate keys,
/// no lone surrogates or invalid UTF-8, depth at most 32.
/// </summary>
public static partial class PerfFileReader
{
    public const string FileName = "perf.json";
    public const int MaxBytes = 64 * 1024;
    private const int MaxDepth = 32;

    /// <summary>Returns perf or throws <see cref="JobFailedException"/> with <c>perf_missing</c>/<c>perf_invalid</c>.</summary>
    public static double Read(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        var bytes = ReadBytes(path);
        return Parse(bytes);
    }

    internal static double Parse(ReadOnlyMemory<byte> bytes)
    {
        JsonDocument document;
        try
        {
            document = StrictJson.Parse(bytes, MaxDepth);
        }
        catch (StrictJsonException e)
        {
            throw Invalid($"perf.json is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid($"perf.json must hold a JSON object, found {Describe(root.ValueKind)}");
            }
            if (!root.TryGetProperty("perf", out var perf))
            {
                throw Invalid("perf.json has no \"perf\" key");
            }
            if (perf.ValueKind != JsonValueKind.Number)
            {
                throw Invalid($"\"perf\" must be a number, found {Describe(perf.ValueKind)}");
            }
            if (!perf.TryGetDouble(out var value) || !double.IsFinite(value))
            {
                throw Invalid($"\"perf\" is not a finite number ({Ellipsis.Truncate(perf.GetRawText(), 40)})");
            }
            return value;
        }
    }

    private static byte[] ReadBytes(string path)
    {
        var fd = Native.open(path, Native.O_RDONLY | Native.O_NOFOLLOW | Native.O_NONBLOCK | Native.O_CLOEXEC | Native.O_NOCTTY);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                Native.ENOENT => new JobFailedException(FailureReasons.PerfMissing, "the job did not write /data/perf.json"),
                Native.ELOOP => Invalid("/data/perf.json is a symbolic link; Berth never follows links the job made"),
                _ => Invalid($"/data/perf.json could not be opened (errno {errno})"),
            };
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var (mode, size) = Native.Stat(fd);
        var type = mode & Native.S_IFMT;
        if (type != Native.S_IFREG)
        {
            throw Invalid($"/data/perf.json is not a regular file (it is a {TypeName(type)})");
        }
        if (size > MaxBytes)
        {
            throw Invalid($"/data/perf.json is {size} bytes; the limit is {MaxBytes} bytes");
        }
        var buffer = new byte[MaxBytes + 1];
        var total = 0;
        while (total < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer.AsSpan(total), total);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        if (total > MaxBytes)
        {
            throw Invalid($"/data/perf.json is larger than {MaxBytes} bytes");
        }
        return buffer[..total];
    }

    private static JobFailedException Invalid(string message) => new(FailureReasons.PerfInvalid, message);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string TypeName(uint type) => type switch
    {
        Native.S_IFDIR => "directory",
        Native.S_IFIFO => "FIFO",
        Native.S_IFSOCK => "socket",
        Native.S_IFCHR => "character device",
        Native.S_IFBLK => "block device",
        Native.S_IFLNK => "symbolic link",
        _ => "special file",
    };


    private static partial class Native
    {
        public const int O_RDONLY = 0;
        public const int O_NOCTTY = 0x100;
        public const int O_NONBLOCK = 0x800;
        public const int O_NOFOLLOW = 0x20000;
        public const int O_CLOEXEC = 0x80000;
        public const int ENOENT = 2;
        public const int ELOOP = 40;
        public const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000,
            S_IFBLK = 0x6000, S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;
        private const int AT_EMPTY_PATH = 0x1000;
        private const uint STATX_TYPE = 0x1, STATX_SIZE = 0x200;

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int open(string path, int flags);

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        private static partial int statx(int dirfd, string path, int flags, uint mask, Span<byte> buffer);

        /// <summary>fstat through statx(2), whose struct layout is the same on every architecture.</summary>
        public static (uint Mode, long Size) Stat(int fd)
        {
            Span<byte> buffer = stackalloc byte[256];
            if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, buffer) != 0)
            {
                throw new JobFailedException(FailureReasons.PerfInvalid, $"/data/perf.json could not be inspected (errno {Marshal.GetLastPInvokeError()})");
            }
            var mode = BitConverter.ToUInt16(buffer[28..30]);
            var size = BitConverter.ToInt64(buffer[40..48]);
            return (mode, size);
        }
    }
}
