using Berth.Server.Jobs;

namespace Berth.Server.Tests.Jobs;

public sealed class JobPathsTests
{
    [Fact]
    public void For_AJobId_IsADirectoryInTheJobsRoot() =>
        Assert.Equal("/var/lib/berth/jobs/01a2b3", JobPaths.For("/var/lib/berth/jobs", "01a2b3").Directory);

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("/etc")]
    [InlineData("../../etc")]
    [InlineData("a/b")]
    [InlineData("a\0b")]
    public void For_AnythingButOnePlainName_IsRefused(string id) =>
        Assert.Throws<ArgumentException>(() => JobPaths.For("/var/lib/berth/jobs", id));
}
