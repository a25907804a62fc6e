namespace Berth.Scanner.Catalogers.Go;

/// <summary>
/// The build information the Go linker embeds in an executable (what <c>go version -m</c> prints):
/// the toolchain's version (<c>go1.19.8</c>, <c>go1.21rc2</c>, <c>go1.22.0 X:boringcrypto</c>, <c>devel ...</c>)
/// and, for a module-mode build, the main package path, the main module and the dependencies.
/// </summary>
public sealed record GoBuildInfo(string GoVersion, string? Path, GoModule? Main, IReadOnlyList<GoModule> Deps);

/// <summary>
/// A module as the build information names it: path and version as written (<c>v0.3.5</c>,
/// <c>(devel)</c>, empty for some local replacements), and what a <c>replace</c> directive put in its place.
/// </summary>
public sealed record GoModule(string Path, string Version, GoModule? Replace);
