namespace Berth.Scanner.Layers;

/// <summary>
/// How much of an image a scan reads. <see cref="MaxDatabaseBytes"/> caps one OS package database
/// (dpkg status, apk installed), <see cref="MaxMetadataBytes"/> one language metadata file (METADATA,
/// package.json, a lockfile), <see cref="MaxTotalBytes"/> every kept file together, <see cref="MaxEntries"/>
/// the entries of all layers together, <see cref="MaxSecretBytes"/> the text searched for secrets. What
/// is over a cap is not read and the scan says so.
/// </summary>
public sealed record ScanLimits(long MaxDatabaseBytes, long MaxMetadataBytes, long MaxTotalBytes, long MaxEntries)
{
    /// <summary>Bytes of a job's own files read to search them for secrets; each is dropped once searched.</summary>
    public long MaxSecretBytes { get; init; } = 512L * 1024 * 1024;

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
    private long _secretBytes;

    public ScanLimits Limits { get; } = limits;

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Entries => Interlocked.Read(ref _entries);

    /// <summary>Starts over (a scan that falls back from layer directories to the stream reads every layer again).</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _bytes, 0);
        Interlocked.Exchange(ref _entries, 0);
        Interlocked.Exchange(ref _secretBytes, 0);
        SecretsTruncated = false;
    }

    public void CountEntry()
    {
        if (Interlocked.Increment(ref _entries) > Limits.MaxEntries)
        {
            throw new ScanBudgetExceededException($"the image has more than {Limits.MaxEntries:N0} files and directories (Scan:MaxEntries)");
        }
    }

    /// <summary>Bytes read only to search them for secrets (not kept): at most <see cref="ScanLimits.MaxSecretBytes"/>; false once that is spent.</summary>
    public bool TryTakeSecretBytes(long bytes)
    {
        if (Interlocked.Add(ref _secretBytes, bytes) <= Limits.MaxSecretBytes)
        {
            return true;
        }
        SecretsTruncated = true;
        return false;
    }

    /// <summary>True when some files were not searched for secrets because <see cref="ScanLimits.MaxSecretBytes"/> was spent.</summary>
    public bool SecretsTruncated { get; private set; }

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
