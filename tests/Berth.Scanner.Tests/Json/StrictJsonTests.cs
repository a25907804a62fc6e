using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Scanner.Json;

namespace Berth.Scanner.Tests.Json;

public sealed class StrictJsonTests
{
    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static StrictJsonException Refused(byte[] json, int maxDepth = StrictJson.DefaultMaxDepth) =>
        Assert.Throws<StrictJsonException>(() => StrictJson.Parse(json, maxDepth).Dispose());

    [Theory]
    [InlineData("{\"perf\": 0.5, \"x\": [1, \"\\ud83d\\ude00\", {\"a\": null}]}")]
    [InlineData("\"\\u00e9t\\u00E9\"")]
    [InlineData("  [true, false, null, -0.5e-3, 0, 1E+2]\r\n")]
    [InlineData("{\"a\": {\"b\": 1}, \"b\": {\"a\": 2}}")] // the same key in different objects is fine
    [InlineData("{\"A\": 1, \"a\": 2}")] // keys are case-sensitive
    public void Parse_WellFormed_IsAccepted(string json)
    {
        using var document = StrictJson.Parse(Utf8(json));
        Assert.NotEqual(JsonValueKind.Undefined, document.RootElement.ValueKind);
    }

    [Fact]
    public void Parse_LeadingByteOrderMark_IsSkipped()
    {
        using var document = StrictJson.Parse((byte[])[0xEF, 0xBB, 0xBF, .. Utf8("{\"a\": 1}")]);
        Assert.Equal(1, document.RootElement.GetProperty("a").GetInt32());
    }

    [Theory]
    [InlineData("{\"\\ud800\": 1, \"perf\": 0.6}", "a key (at the top level)")]
    [InlineData("{\"\\udc00\": 1}", "a key (at the top level)")]
    [InlineData("{\"limits\": {\"\\ud800\\u0041\": 1}}", "a key (at $.limits)")]
    [InlineData("{\"a\": \"x\\ud800\"}", "the string (at $.a)")]
    [InlineData("{\"a\": [\"ok\", \"\\ud83d\\ud83d\"]}", "the string (at $.a[1])")]
    [InlineData("\"\\udfff\"", "the string (at the top level)")]
    public void Parse_EscapedLoneSurrogate_IsRefusedSayingWhere(string json, string where)
    {
        var e = Refused(Utf8(json));
        Assert.Contains("not valid Unicode", e.Message, StringComparison.Ordinal);
        Assert.Contains(where, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // U+D800 as CESU-8
    [InlineData(new byte[] { 0xED, 0xBF, 0xBF })] // U+DFFF as CESU-8
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC0, 0xAF })] // overlong '/'
    [InlineData(new byte[] { 0xE2, 0x82 })] // cut short
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // past U+10FFFF
    public void Parse_RawInvalidUtf8_IsRefusedInKeysAndValues(byte[] bad)
    {
        byte[] inKey = [.. "{\""u8, .. bad, .. "\": 1}"u8];
        byte[] inValue = [.. "{\"k\": \"a"u8, .. bad, .. "\"}"u8];
        Assert.Contains("not valid Unicode", Refused(inKey).Message, StringComparison.Ordinal);
        Assert.Equal("k", Refused(inValue).Field);
    }

    [Theory]
    [InlineData("{\"perf\": 1, \"perf\": 2}", "perf")]
    [InlineData("{\"perf\": 1, \"\\u0070erf\": 2}", "perf")] // the same key, escaped differently
    [InlineData("{\"limits\": {\"cpus\": 1, \"memoryMb\": 2, \"cpus\": 3}}", "limits.cpus")]
    [InlineData("{\"a\": [{}, {\"x\": 1, \"x\": 1}]}", "a[1].x")]
    [InlineData("{\"\": 1, \"\": 2}", "[\"\"]")]
    [InlineData("{\"we ird\": 1, \"we ird\": 2}", "[\"we ird\"]")]
    public void Parse_DuplicateKey_IsRefusedNamingTheField(string json, string field)
    {
        var e = Refused(Utf8(json));
        Assert.Contains("appears twice", e.Message, StringComparison.Ordinal);
        Assert.Equal(field, e.Field);
    }

    [Theory]
    [InlineData(40, false)]
    [InlineData(1000, false)]
    [InlineData(1000, true)]
    public void Parse_ObjectWithManyKeys_FindsADuplicateAnywhere(int keys, bool duplicate)
    {
        var members = Enumerable.Range(0, keys).Select(i => $"\"k{i}\": {i}").ToList();
        if (duplicate)
        {
            members.Add("\"\\u006b7\": 0"); // "k7", escaped
        }
        var json = Utf8("{" + string.Join(", ", members) + "}");

        if (duplicate)
        {
            Assert.Equal("k7", Refused(json).Field);
        }
        else
        {
            using var document = StrictJson.Parse(json);
            Assert.Equal(keys, document.RootElement.EnumerateObject().Count());
        }
    }

    [Fact]
    public void Parse_HalfAMillionKeys_IsLinear()
    {
        var json = Utf8("{" + string.Join(",", Enumerable.Range(0, 500_000).Select(i => $"\"{i}\":0")) + ",\"17\":1}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("[\"17\"]", Refused(json).Field);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{clock.Elapsed}");
    }

    [Theory]
    [InlineData("{\"a\": {\"b\": 1}, \"b\": 2}", null)]
    [InlineData("{\"a\": {\"b\": 1}, \"a\": 2}", "a")]
    [InlineData("{\"a\": [{\"a\": 1}, {\"a\": 2}], \"b\": {\"a\": 3, \"b\": {\"b\": 4}}}", null)]
    [InlineData("{\"a\": [{\"a\": 1}, {\"a\": 2, \"a\": 3}]}", "a[1].a")]
    [InlineData("{\"a\": {\"x\": 1}, \"b\": [1, \"\\ud800\"]}", "b[1]")]
    public void Parse_KeysOfClosedObjects_AreForgotten(string json, string? field)
    {
        if (field is null)
        {
            StrictJson.Parse(Utf8(json)).Dispose();
        }
        else
        {
            Assert.Equal(field, Refused(Utf8(json)).Field);
        }
    }

    [Theory]
    [InlineData("{\"perf\": NaN}")]
    [InlineData("{\"perf\": Infinity}")]
    [InlineData("{\"perf\": -Infinity}")]
    [InlineData("{\"a\": 1,}")]
    [InlineData("[1, 2,]")]
    [InlineData("{\"a\": 1} // comment")]
    [InlineData("{'a': 1}")]
    [InlineData("{\"a\": 01}")]
    [InlineData("{\"a\": 0x10}")]
    [InlineData("{\"a\": 1} {\"b\": 2}")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\"tab\there\"")]
    public void Parse_NotRfc8259_IsRefused(string json) => Refused(Utf8(json));

    [Fact]
    public void Parse_NestingAtTheLimit_IsAcceptedAndOneDeeperIsRefused()
    {
        using (StrictJson.Parse(Utf8(new string('[', 8) + new string(']', 8)), maxDepth: 8))
        {
        }
        var e = Refused(Utf8(new string('[', 9) + new string(']', 9)), maxDepth: 8);
        Assert.Contains("depth", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HundredThousandLevels_IsRefusedWithoutStackOverflow() =>
        Refused(Utf8(new string('[', 100_000) + new string(']', 100_000)));

    [Fact]
    public void Parse_SyntaxError_SaysWhereInTheText()
    {
        var e = Refused(Utf8("{\n  \"a\": tru\n}"));
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HugeKey_IsQuotedShortInTheMessage()
    {
        var key = new string('k', 10_000);
        var e = Refused(Utf8($"{{\"{key}\": 1, \"{key}\": 2}}"));
        Assert.True(e.Message.Length < 200, e.Message);
    }

    private sealed record Limits(int? TimeoutSeconds, double? Cpus);

    private static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.General) { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    [Fact]
    public void Deserialize_StringWhereANumberBelongs_IsRefusedNamingTheField()
    {
        var e = Assert.Throws<StrictJsonException>(() => StrictJson.Deserialize<Limits>(Utf8("{\"timeoutSeconds\": \"5\"}"), Strict));
        Assert.Equal("timeoutSeconds", e.Field);
    }

    [Fact]
    public void Deserialize_Numbers_AreReadAsNumbers() =>
        Assert.Equal(new Limits(5, 0.5), StrictJson.Deserialize<Limits>(Utf8("{\"timeoutSeconds\": 5, \"cpus\": 0.5}"), Strict));

    [Fact]
    public void Deserialize_DuplicateKey_IsRefused() =>
        Assert.Throws<StrictJsonException>(() => StrictJson.Deserialize<Limits>(Utf8("{\"cpus\": 1, \"cpus\": 2}"), Strict));

    [Theory]
    [InlineData(JsonNumberHandling.AllowReadingFromString, false, false)]
    [InlineData(JsonNumberHandling.AllowNamedFloatingPointLiterals, false, false)]
    [InlineData(JsonNumberHandling.Strict, true, false)]
    [InlineData(JsonNumberHandling.Strict, false, true)]
    public void Deserialize_LooseOptions_AreAProgrammingError(JsonNumberHandling numbers, bool trailingCommas, bool caseInsensitive)
    {
        var options = new JsonSerializerOptions { NumberHandling = numbers, AllowTrailingCommas = trailingCommas, PropertyNameCaseInsensitive = caseInsensitive };
        Assert.Throws<ArgumentException>(() => StrictJson.Deserialize<Limits>(Utf8("{}"), options));
    }
}
