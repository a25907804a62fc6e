using Berth.Server.Pipeline;

namespace Berth.Server.Tests.Pipeline;

public sealed class CappedLogWriterTests
{
    [Fact]
    public void Write_PastTheCap_KeepsTheHeadAndAppendsAMarker()
    {
        var path = Path.GetTempFileName();
        try
        {
            using (var log = new CappedLogWriter(path, 10))
            {
                log.Write("0123456789abcdef");
                log.Write("more");
                Assert.True(log.Truncated);
            }
            var text = File.ReadAllText(path);
            Assert.StartsWith("0123456789\n[berth] log truncated", text, StringComparison.Ordinal);
            Assert.Contains("10 more bytes were dropped", text, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Write_UnderTheCap_HasNoMarker()
    {
        var path = Path.GetTempFileName();
        try
        {
            using (var log = new CappedLogWriter(path, 100))
            {
                log.Write("hello\n");
            }
            Assert.Equal("hello\n", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
