using System.ComponentModel.DataAnnotations;
using Berth.Server.Dockerfiles;

namespace Berth.Server.Configuration;

/// <summary>Image build settings (section <c>Build</c>).</summary>
public sealed class BuildOptions : IValidatableObject
{
    public const string Section = "Build";

    /// <summary>The images the set-up loads on the engine; allowed when <see cref="AllowedImages"/> is not set.</summary>
    public static readonly IReadOnlyList<string> DefaultAllowedImages = ["busybox:latest", "debian:bookworm-slim"];

    /// <summary>
    /// Images a Dockerfile may name in FROM and COPY --from, besides <c>scratch</c> and earlier stages
    /// (compared normalized; see <see cref="Dockerfiles.AllowedImages"/>). Unset means
    /// <see cref="DefaultAllowedImages"/>; a configured list replaces it. Each entry is <c>name[:tag]</c>
    /// or <c>name@sha256:&lt;64 hex&gt;</c>; image ids, <c>scratch</c> and Berth's job images are refused.
    /// </summary>
    public List<string>? AllowedImages { get; set; }

    /// <summary>Whether a FROM image absent from the engine may be pulled from a registry.</summary>
    public bool Pull { get; set; }

    /// <summary>Network of RUN steps: <c>none</c> (default) or <c>default</c>/<c>bridge</c>. Never <c>host</c>.</summary>
    [AllowedValues("none", "default", "bridge")]
    public string Network { get; set; } = "none";

    [Range(LimitsOptions.MinMemoryMb, 1024 * 1024)] public int MemoryMb { get; set; } = 2048;
    [Range(0.01, 1024)] public double Cpus { get; set; } = 2;
    [Range(1, 24 * 3600)] public int TimeoutSeconds { get; set; } = 900;

    /// <summary>Most processes/threads all of one build's RUN steps may have at once.</summary>
    [Range(16, 1_000_000)] public int PidsLimit { get; set; } = 512;

    /// <summary>Largest file a RUN step may write (RLIMIT_FSIZE of every build container).</summary>
    [Range(1, 1024 * 1024)] public int FileSizeMb { get; set; } = 1024;

    /// <summary>
    /// Most disk one build may add on top of its base images (committed layers plus running steps' writable
    /// layers), checked every second while it runs; past it the build is stopped (<c>build_limit_exceeded</c>).
    /// </summary>
    [Range(1, 1024 * 1024)] public int MaxImageMb { get; set; } = 4096;

    /// <summary>Most build output (all steps' stdout and stderr) one build may print before it is stopped.</summary>
    [Range(1, 64 * 1024)] public int MaxOutputMb { get; set; } = 16;

    /// <summary>
    /// How long a finished job's image (<c>berth-&lt;instance&gt;/job-&lt;id&gt;</c>) is kept, which keeps the
    /// engine's build cache warm for the next build of the same Dockerfile; the janitor removes it
    /// afterwards. 0 removes it as soon as the job ends.
    /// </summary>
    [Range(0, 365 * 24 * 3600)] public int ImageRetentionSeconds { get; set; } = 600;

    /// <summary>The allow-list in effect: <see cref="AllowedImages"/>, or the defaults when it is not set.</summary>
    public IReadOnlyList<string> EffectiveAllowedImages() => AllowedImages ?? DefaultAllowedImages;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var entries = EffectiveAllowedImages();
        for (var i = 0; i < entries.Count; i++)
        {
            if (Dockerfiles.AllowedImages.CheckEntry(entries[i] ?? "") is { } problem)
            {
                yield return new ValidationResult($"{Dockerfiles.AllowedImages.Setting}:{i} ('{entries[i]}'): {problem}", [nameof(AllowedImages)]);
            }
        }
    }
}
