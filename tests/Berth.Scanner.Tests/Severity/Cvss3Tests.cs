using Berth.Scanner.Severity;

namespace Berth.Scanner.Tests.Severity;

public sealed class Cvss3Tests
{
    // Scores as published by NVD for these vectors.
    [Theory]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N", 8.1)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1)]
    [InlineData("CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N", 4.2)]
    [InlineData("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5)]
    [InlineData("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5)]
    [InlineData("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:H/UI:R/S:C/C:L/I:L/A:N", 4.8)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0)]
    public void BaseScore_KnownVectors(string vector, double expected) =>
        Assert.Equal(expected, Cvss3.BaseScore(vector));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]
    [InlineData("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H")]
    [InlineData("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]
    [InlineData("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]
    public void BaseScore_IncompleteOrForeignVectors_AreNull(string? vector) => Assert.Null(Cvss3.BaseScore(vector));

    [Theory]
    [InlineData(0.0, SeverityLevel.None)]
    [InlineData(3.9, SeverityLevel.Low)]
    [InlineData(4.0, SeverityLevel.Medium)]
    [InlineData(7.0, SeverityLevel.High)]
    [InlineData(9.0, SeverityLevel.Critical)]
    public void FromScore_UsesTheQualitativeScale(double score, SeverityLevel level) => Assert.Equal(level, SeverityLevels.FromScore(score));

    [Fact]
    public void FromText_GhsaModerateIsMedium() => Assert.Equal(SeverityLevel.Medium, SeverityLevels.FromText("MODERATE"));

    [Fact]
    public void Roundup_AvoidsFloatNoise() => Assert.Equal(4.0, Cvss3.Roundup(4.000000000001));
}
