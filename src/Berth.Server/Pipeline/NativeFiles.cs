using System.Runtime.InteropServices;

namespace Berth.Server.Pipeline;

/// <summary>The one libc call .NET lacks: chown, used on directories Berth itself created.</summary>
internal static partial class NativeFiles
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, int owner, int group);

    public static void Chown(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
        {
            throw new IOException($"cannot give {path} to {uid}:{gid} (errno {Marshal.GetLastPInvokeError()}); Berth must run as root to own job directories");
        }
    }
}
