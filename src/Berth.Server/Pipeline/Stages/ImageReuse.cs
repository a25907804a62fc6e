using System.Formats.Tar;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Berth.Server.Docker;
using Berth.Server.Jobs;

namespace Berth.Server.Pipeline.Stages;

/// <summary>
/// Lets an identical resubmission skip its build. A build's content key is the SHA-256 of everything the build depends
/// on: the submitted context (Dockerfile included), the image id of each base image as the engine has it now, and the
/// owner's cache key. The built image is labelled with it; a later job with the same key reuses the image of this
/// instance that carries the key and the same owner's cache label, under a tag of its own. Another owner's image, an
/// image built on a base the operator has since replaced, or one the janitor already removed, is never reused.
/// </summary>
public sealed class ImageReuse(IContainerEngine engine, EngineNames names, IJobLedger store)
{
    /// <summary>
    /// The content key. Each entry of the stored context counts by name, type, mode, owner, link target and content, in
    /// order; its times do not (the engine's build cache ignores them too, and every upload gets new ones).
    /// </summary>
    /// <param name="recipe">What else decides the image: the Dockerfile the engine builds and the build's parameters.</param>
    public static async Task<string> KeyAsync(string contextTar, IEnumerable<(string Reference, string ImageId)> bases, string cacheKey, string recipe,
        CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var context = new FileStream(contextTar, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true))
        await using (var tar = new TarReader(context))
        {
            var buffer = new byte[64 * 1024];
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                hash.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                    $"\nENTRY {entry.Name.Length}:{entry.Name} {entry.EntryType} {(int)entry.Mode} {entry.Uid}:{entry.Gid} {entry.LinkName.Length}:{entry.LinkName} {entry.Length}\n")));
                if (entry.DataStream is { } data)
                {
                    int read;
                    while ((read = await data.ReadAsync(buffer, cancellationToken)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                    }
                }
            }
        }
        foreach (var (reference, imageId) in bases.OrderBy(b => b.Reference, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"\nFROM {reference}={imageId}"));
        }
        hash.AppendData(Encoding.UTF8.GetBytes($"\nOWNER {cacheKey}\nRECIPE {recipe.Length}:{recipe}"));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// A tagged image of this instance built from <paramref name="key"/> for the same owner, whose job the store holds
    /// as that owner's with a build that succeeded on that very image (so one a running or failed build tagged, e.g.
    /// over <c>Build:MaxImageMb</c>, is never taken), or null.
    /// </summary>
    public async Task<EngineImage?> FindAsync(string key, string cacheKey, string owner, CancellationToken cancellationToken)
    {
        var candidates = (await engine.ListImagesAsync($"{EngineNames.ContentLabel}={key}", danglingOnly: false, cancellationToken))
            .Where(i => i.Tags.Count > 0
                && i.Labels.GetValueOrDefault(EngineNames.CacheLabel) == cacheKey
                && i.Labels.GetValueOrDefault(EngineNames.InstanceLabel) == names.Instance
                && i.Labels.GetValueOrDefault(EngineNames.ContentLabel) == key);
        foreach (var image in candidates)
        {
            foreach (var jobId in image.Tags.Select(t => names.JobOfImageTag(t)).OfType<string>())
            {
                if (await store.GetAsync(jobId, cancellationToken) is { } job && job.Owner == owner && job.ImageId == image.Id
                    && job.Stages.Any(s => s.Name == BuildStage.StageName && s.Status == StageStatus.Succeeded))
                {
                    return image;
                }
            }
        }
        return null;
    }
}
