using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Microsoft.Extensions.Options;

namespace Berth.Server.Storage;

/// <summary>A job's files in its own directory, <c>&lt;DataRoot&gt;/jobs/&lt;id&gt;/</c> (<see cref="JobPaths"/>): SQLite, one server.</summary>
public sealed class LocalJobFiles(IOptions<BerthOptions> options) : IJobFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public async Task WriteAsync(string jobId, JobFile file, Stream content, CancellationToken cancellationToken)
    {
        var paths = JobPaths.For(options.Value.JobsRoot, jobId);
        Directory.CreateDirectory(options.Value.JobsRoot);
        Directory.CreateDirectory(paths.Directory, OwnerOnly);
        var path = PathOf(paths, file);
        var partial = path + ".partial";
        await using (var target = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
        {
            await content.CopyToAsync(target, cancellationToken);
        }
        File.Move(partial, path, overwrite: true);
    }

    public Task<Stream?> OpenReadAsync(string jobId, JobFile file, CancellationToken cancellationToken) =>
        OpenReadAsync(jobId, file, 0, cancellationToken);

    public Task<Stream?> OpenReadAsync(string jobId, JobFile file, long offset, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var path = PathOf(JobPaths.For(options.Value.JobsRoot, jobId), file);
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, useAsync: true);
            stream.Position = offset;
            return Task.FromResult<Stream?>(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    /// <summary>Removes the job's files, then its directory if nothing else is in it (a mounted /data never is deleted through).</summary>
    public Task DeleteAllAsync(string jobId, CancellationToken cancellationToken)
    {
        var paths = JobPaths.For(options.Value.JobsRoot, jobId);
        foreach (var file in Enum.GetValues<JobFile>())
        {
            File.Delete(PathOf(paths, file));
        }
        File.Delete(paths.EngineBuildContext);
        try
        {
            Directory.Delete(paths.Directory, recursive: false);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException)
        {
            // gone already, or something else is still in it (the janitor's business)
        }
        return Task.CompletedTask;
    }

    private static string PathOf(JobPaths paths, JobFile file) => file switch
    {
        JobFile.Dockerfile => paths.Dockerfile,
        JobFile.Context => paths.BuildContext,
        JobFile.BuildLog => paths.BuildLog,
        JobFile.RunLog => paths.RunLog,
        JobFile.ScanReport => paths.ScanReport,
        JobFile.Sbom => paths.Sbom,
        _ => throw new ArgumentOutOfRangeException(nameof(file), file, null),
    };
}
