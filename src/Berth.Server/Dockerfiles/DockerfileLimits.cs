namespace Berth.Server.Dockerfiles;

/// <summary>
/// Size limits on a Dockerfile (rule <c>size-limit</c>). They are constants, not settings: they bound
/// the work lint, the engine and the logs do for one job, and no real Dockerfile comes near them.
/// </summary>
public static class DockerfileLimits
{
    /// <summary>Most instructions (global ARGs included).</summary>
    public const int MaxInstructions = 300;

    /// <summary>Most build stages (FROM instructions).</summary>
    public const int MaxStages = 20;

    /// <summary>Longest physical line, in UTF-8 bytes (the engine's own limit is 64 KiB).</summary>
    public const int MaxLineBytes = 16 * 1024;

    /// <summary>Longest instruction after joining its continuation lines, in UTF-8 bytes.</summary>
    public const int MaxInstructionBytes = 64 * 1024;

    /// <summary>Most parse errors reported; the rest are counted in one last error.</summary>
    public const int MaxParseErrors = 50;
}
