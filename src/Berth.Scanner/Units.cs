namespace Berth.Scanner;

/// <summary>The one place Berth turns MiB settings into bytes and back.</summary>
public static class Units
{
    public const long MiB = 1024 * 1024;

    /// <summary><paramref name="mebibytes"/> MiB in bytes.</summary>
    public static long Mebibytes(long mebibytes) => checked(mebibytes * MiB);

    /// <summary>Whole MiB in <paramref name="bytes"/>, rounded down.</summary>
    public static long ToMebibytes(long bytes) => bytes / MiB;
}
