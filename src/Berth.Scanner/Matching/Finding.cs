using Berth.Scanner.Packages;
using Berth.Scanner.Severity;

namespace Berth.Scanner.Matching;

/// <summary>
/// One advisory affecting one installed package. <see cref="FixedVersion"/> is null when no fix is known.
/// <see cref="Ignored"/> says why policy does not count it (unfixed, or an ignore rule), else null.
/// <see cref="AdvisoryUrl"/> is the record's advisory page (an absolute http(s) URL) when it gives one.
/// </summary>
public sealed record Finding(
    string AdvisoryId,
    IReadOnlyList<string> Aliases,
    string? Summary,
    Package Package,
    string MatchedName,
    string InstalledVersion,
    string? FixedVersion,
    SeverityLevel Severity,
    double? CvssScore,
    string? Ignored = null,
    string? AdvisoryUrl = null);
