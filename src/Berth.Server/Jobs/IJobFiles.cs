namespace Berth.Server.Jobs;

/// <summary>The files a job has besides its record.</summary>
public enum JobFile
{
    /// <summary>The Dockerfile as submitted (or found in the context).</summary>
    Dockerfile,

    /// <summary>The build context tar (entries plus the Dockerfile).</summary>
    Context,

    BuildLog,
    RunLog,

    /// <summary>The scan report (every finding, after policy), JSON.</summary>
    ScanReport,

    /// <summary>The CycloneDX 1.5 SBOM, JSON.</summary>
    Sbom,
}

/// <summary>
/// Where the API keeps and reads a job's files: the local job directory (SQLite, one server), or the shared database
/// (PostgreSQL, any number of API servers, none depending on its own disk).
/// </summary>
public interface IJobFiles
{
    /// <summary>Stores a file the API made (the Dockerfile and context at submission), replacing any earlier one.</summary>
    Task WriteAsync(string jobId, JobFile file, Stream content, CancellationToken cancellationToken);

    /// <summary>The file's bytes, or null when the job has none.</summary>
    Task<Stream?> OpenReadAsync(string jobId, JobFile file, CancellationToken cancellationToken);

    /// <summary>
    /// The file's bytes from byte <paramref name="offset"/> on (a log followed as it grows), or null when there are
    /// none yet. A stream from at or past the end reads nothing.
    /// </summary>
    Task<Stream?> OpenReadAsync(string jobId, JobFile file, long offset, CancellationToken cancellationToken);

    /// <summary>Removes every file of a job (it was deleted, or its submission failed).</summary>
    Task DeleteAllAsync(string jobId, CancellationToken cancellationToken);
}
