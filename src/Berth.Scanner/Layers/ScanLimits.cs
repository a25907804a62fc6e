namespace Berth.Scanner.Layers;

/// <summary>
/// How much of an image a scan reads. <see cref="MaxDatabaseBytes"/> caps one OS package database
/// (dpkg status, apk installed), <see cref="MaxMetadataBytes"/> one language metadata file (METADATA,
/// package.json, a lockfile), <see cref="MaxTotalBytes"/> every kept file together, <see cref="MaxEntries"/>
/// the entries of all layers together. What is over a cap is not read and the scan says so.
/// </summary>
public sealed record ScanLimits(long MaxDatabaseBytes, long MaxMetadataBytes, long MaxTotalBytes, long MaxEntries)
{
    public static readonly ScanLimits Default = new(
        MaxDatabaseBytes: 64L * 1024 * 1024,
        MaxMetadataBytes: 4L * 1024 * 1024,
        MaxTotalBytes: 64L * 1024 * 1024,
        MaxEntries: 2_000_000);
}

/// <summary>The shared counters of one scan; thread-safe. Exceeding a total stops the scan with <see cref="ScanBudgetExceededException"/>.</summary>
public sealed class ScanBudget(ScanLimits limits)
{
    private long _bytes;
    private long _entries;

    public ScanLimits Limits { get; } = limits;

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Entries => Interlocked.Read(ref _entries);

    public void CountEntry()
    {
        if (Interlocked.Increment(ref _entries) > Limits.MaxEntries)
        {
            throw new ScanBudgetExceededException($"the image has more than {Limits.MaxEntries:N0} files and directories (Scan:MaxEntries)");
        }
    }

    /// <summary>Reserves <paramref name="bytes"/> for a kept file; false (nothing reserved) when the total would be exceeded.</summary>
    public bool TryTake(long bytes)
    {
        if (Interlocked.Add(ref _bytes, bytes) <= Limits.MaxTotalBytes)
        {
            return true;
        }
        Interlocked.Add(ref _bytes, -bytes);
        return false;
    }
}

/// <summary>A scan stopped at a limit: the image was not fully read.</summary>
public sealed class ScanBudgetExceededException(string message) : Exception(message);
