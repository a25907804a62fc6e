using Berth.Server.Configuration;
using Berth.Server.Errors;
using Berth.Server.Jobs;
using Berth.Server.Submissions;

namespace Berth.Server.Tests.Submissions;

public sealed class JobServiceTests
{
    private static readonly LimitsOptions Limits = new() { DefaultTimeoutSeconds = 60, MaxTimeoutSeconds = 120, DefaultMemoryMb = 256, MaxMemoryMb = 512, DefaultCpus = 1, MaxCpus = 2 };

    [Fact]
    public void ResolveLimits_NothingRequested_GivesDefaults() =>
        Assert.Equal(new JobLimits(60, 256, 1, 256), JobService.ResolveLimits(new LimitsRequest(null, null, null), Limits));

    [Fact]
    public void ResolveLimits_WithinMaxima_GivesWhatWasAsked() =>
        Assert.Equal(new JobLimits(120, 512, 0.5, 32), JobService.ResolveLimits(new LimitsRequest(120, 512, 0.5, 32), Limits));

    [Theory]
    [InlineData(121, null, null, "limits.timeoutSeconds", "maximum of 120")]
    [InlineData(0, null, null, "limits.timeoutSeconds", "at least 1")]
    [InlineData(null, 513, null, "limits.memoryMb", "maximum of 512")]
    [InlineData(null, 4, null, "limits.memoryMb", "at least 16")]
    [InlineData(null, null, 2.5, "limits.cpus", "maximum of 2")]
    [InlineData(null, null, 0.0, "limits.cpus", "at least 0.01")]
    [InlineData(null, null, double.NaN, "limits.cpus", "at least 0.01")]
    [InlineData(null, null, null, "limits.dataMb", "maximum of 256", 257)]
    [InlineData(null, null, null, "limits.dataMb", "at least 4", 1)]
    public void ResolveLimits_OutOfRange_Is422NamingTheField(int? timeout, int? memory, double? cpus, string field, string message, int? data = null)
    {
        var e = Assert.Throws<RequestRejectedException>(() => JobService.ResolveLimits(new LimitsRequest(timeout, memory, cpus, data), Limits));
        Assert.Equal(Rejection.Unprocessable, e.Kind);
        Assert.Equal(field, e.Field);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" \n\t")]
    public void CheckDockerfile_MissingOrBlank_Is400(string? text) =>
        Assert.Equal(Rejection.BadRequest, Assert.Throws<RequestRejectedException>(() => JobSubmission.CheckDockerfile(text)).Kind);

    [Fact]
    public void CheckDockerfile_OverOneMiB_Is422() =>
        Assert.Equal(Rejection.Unprocessable, Assert.Throws<RequestRejectedException>(() => JobSubmission.CheckDockerfile("FROM a\n" + new string('#', 1024 * 1024))).Kind);
}
