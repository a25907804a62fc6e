using System.Diagnostics;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;

namespace Berth.Server.Tests.Pipeline;

public sealed class PerfFileReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-perf-").FullName;

    private string PerfPath => Path.Combine(_dir, PerfFileReader.FileName);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("{\"perf\": 0.99}", 0.99)]
    [InlineData("{\"perf\": -3, \"other\": [1, 2]}", -3)]
    [InlineData("  {\"perf\": 1e3}\n", 1000)]
    public void Read_ValidFile_ReturnsPerf(string content, double expected)
    {
        File.WriteAllText(PerfPath, content);
        Assert.Equal(expected, PerfFileReader.Read(_dir));
    }

    [Fact]
    public void Read_NoFile_IsPerfMissing()
    {
        var e = Assert.Throws<JobFailedException>(() => PerfFileReader.Read(_dir));
        Assert.Equal(FailureReasons.PerfMissing, e.Reason);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{\"perf\": \"0.9\"}", "must be a number, found a string")]
    [InlineData("{\"perf\": NaN}", "not valid JSON")]
    [InlineData("{\"perf\": Infinity}", "not valid JSON")]
    [InlineData("{\"perf\": 1e999}", "not a finite number")]
    [InlineData("[0.5]", "must hold a JSON object")]
    [InlineData("{\"score\": 1}", "no \"perf\" key")]
    [InlineData("{\"perf\": 1, \"perf\": 2}", "not valid JSON")]
    [InlineData("{\"perf\": null}", "found null")]
    [InlineData("", "not valid JSON")]
    [InlineData("{\"\\ud800\": 1, \"perf\": 0.6}", "not valid Unicode")]
    [InlineData("{\"perf\": 0.6, \"\\udc00x\": 1}", "not valid Unicode")]
    [InlineData("{\"perf\": 0.6, \"note\": \"\\ud800\"}", "not valid Unicode")]
    [InlineData("{\"perf\": 0.6, \"\\u0070erf\": 0.9}", "appears twice")]
    [InlineData("{\"perf\": 0.6,}", "not valid JSON")]
    public void Read_BadContent_IsPerfInvalidWithReason(string content, string reason)
    {
        File.WriteAllText(PerfPath, content);
        var e = Assert.Throws<JobFailedException>(() => PerfFileReader.Read(_dir));
        Assert.Equal(FailureReasons.PerfInvalid, e.Reason);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // a lone surrogate, raw (CESU-8)
    [InlineData(new byte[] { 0xFF })]
    public void Read_RawInvalidUtf8InAKey_IsPerfInvalid(byte[] bad)
    {
        File.WriteAllBytes(PerfPath, [.. "{\""u8, .. bad, .. "\": 1, \"perf\": 0.6}"u8]);
        var e = Assert.Throws<JobFailedException>(() => PerfFileReader.Read(_dir));
        Assert.Equal(FailureReasons.PerfInvalid, e.Reason);
        Assert.Contains("not valid Unicode", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_DeeplyNestedJson_IsPerfInvalid()
    {
        File.WriteAllText(PerfPath, "{\"perf\": 1, \"x\": " + new string('[', 10_000) + new string(']', 10_000) + "}");
        var e = Assert.Throws<JobFailedException>(() => PerfFileReader.Read(_dir));
        Assert.Equal(FailureReasons.PerfInvalid, e.Reason);
    }

    [Fact]
    public void Read_SymlinkToHostFile_IsRefusedNotFollowed()
    {
        var secret = Path.Combine(_dir, "secret.json");
        File.WriteAllText(secret, "{\"perf\": 42}");
        File.CreateSymbolicLink(PerfPath, secret);

        var e = Assert.Throws<JobFailedException>(() => PerfFileReader.Read(_dir));
        Assert.Equal(FailureReasons.PerfInvalid, e.Reason);
        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Fifo_DoesNotHang()
    {
        using (var mkfifo = Process.Start("mkfifo", PerfPath))
        {
            mkfifo.WaitForExit();
        }
        var e = Assert.Throws<JobFailedException>(() => PerfFileReader.Read(_dir));
        Assert.Contains("FIFO", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Directory_IsPerfInvalid()
    {
        Directory.CreateDirectory(PerfPath);
        var e = Assert.Throws<JobFailedException>(() => PerfFileReader.Read(_dir));
        Assert.Contains("directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HugeFile_IsRefusedBySize()
    {
        using (var f = File.Create(PerfPath))
        {
            f.SetLength(100L * 1024 * 1024);
        }
        var e = Assert.Throws<JobFailedException>(() => PerfFileReader.Read(_dir));
        Assert.Contains("limit is 65536 bytes", e.Message, StringComparison.Ordinal);
    }
}
