using System.Text;
using Berth.Scanner.Advisories;
using Berth.Scanner.Json;

namespace Berth.Scanner.Tests.Advisories;

public sealed class OsvRecordTests
{
    private static OsvRecord Read(string references) => StrictJson.Deserialize<OsvRecord>(
        Encoding.UTF8.GetBytes($$$"""{"id":"X-1","affected":[{"package":{"ecosystem":"PyPI","name":"p"}}],"references":{{{references}}}}"""),
        OsvJson.Options)!;

    [Fact]
    public void AdvisoryUrl_FirstAbsoluteHttpAdvisoryReference_OthersSkipped()
    {
        var record = Read("""
            [{"type":"WEB","url":"https://example.org/web"},
             {"type":"ADVISORY","url":"not a url"},
             {"type":"ADVISORY","url":"javascript:alert(1)"},
             {"type":"ADVISORY"},
             {"type":"ADVISORY","url":"https://example.org/advisory/X 1"},
             {"type":"ADVISORY","url":"https://example.org/second"}]
            """);

        Assert.Equal("https://example.org/advisory/X%201", record.AdvisoryUrl);
    }

    [Fact]
    public void AdvisoryUrl_NoReferences_IsNull()
    {
        Assert.Null(Read("[]").AdvisoryUrl);
        Assert.Null(Read("""[{"type":"FIX","url":"https://example.org/fix"}]""").AdvisoryUrl);
    }
}
