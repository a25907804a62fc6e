using System.Text;
using Berth.Scanner.Tests.Json;
using Berth.Server.Api;
using Berth.Server.Errors;
using Berth.Server.Submissions;

namespace Berth.Server.Tests.Api;

public sealed class SubmissionJsonTests
{
    private static JobSubmission Read(string json) => SubmissionJson.Read(Encoding.UTF8.GetBytes(json));

    private static RequestRejectedException Refused(string json) => Refused(Encoding.UTF8.GetBytes(json));

    private static RequestRejectedException Refused(byte[] json)
    {
        var e = Assert.Throws<RequestRejectedException>(() => SubmissionJson.Read(json));
        Assert.Equal(Rejection.BadRequest, e.Kind);
        return e;
    }

    [Fact]
    public void Read_EveryField_IsRead()
    {
        var submission = Read("{\"dockerfile\": \"FROM a:1\\n\", \"name\": \"n\\u00e9\", \"limits\": {\"timeoutSeconds\": 5, \"memoryMb\": 64, \"cpus\": 0.5, \"dataMb\": 8}}");

        Assert.Equal(("FROM a:1\n", "né"), (submission.Dockerfile, submission.Name));
        Assert.Equal(new LimitsRequest(5, 64, 0.5, 8), submission.Limits);
    }

    [Theory]
    [InlineData("{\"dockerfile\": \"FROM a\"}", true)]
    [InlineData("{\"dockerfile\": \"FROM a\", \"cache\": null}", true)]
    [InlineData("{\"dockerfile\": \"FROM a\", \"cache\": true}", true)]
    [InlineData("{\"dockerfile\": \"FROM a\", \"cache\": false}", false)]
    public void Read_Cache_DefaultsToTrue(string json, bool cache) => Assert.Equal(cache, Read(json).Cache);

    [Theory]
    [InlineData("{\"dockerfile\": \"FROM a\", \"cache\": \"false\"}")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"cache\": 0}")]
    public void Read_CacheNotABoolean_Is400NamingIt(string json)
    {
        var e = Refused(json);
        Assert.Equal("cache", e.Field);
        Assert.Contains("must be true or false", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"dockerfile\": \"FROM a\"}")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"name\": null, \"limits\": null}")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"timeoutSeconds\": null, \"cpus\": null}}")]
    public void Read_NullsAndAbsentLimits_GetTheDefaults(string json) =>
        Assert.Equal(new LimitsRequest(null, null, null), Read(json).Limits);

    [Theory]
    [InlineData("{\"dockerfile\": \"FROM a\", \"dockerfile\": \"FROM b\"}", "dockerfile", "appears twice")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"\\u0064ockerfile\": \"FROM b\"}", "dockerfile", "appears twice")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"cpus\": 1, \"cpus\": 2}}", "limits.cpus", "appears twice")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"timeoutSeconds\": \"5\"}}", "limits.timeoutSeconds", "without quotes")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"cpus\": \"0.5\"}}", "limits.cpus", "must be a JSON number")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"memoryMb\": true}}", "limits.memoryMb", "found a boolean")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"timeoutSeconds\": 5.5}}", "limits.timeoutSeconds", "whole number")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"timeoutSeconds\": 1e1}}", "limits.timeoutSeconds", "whole number")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"memoryMb\": 3000000000}}", "limits.memoryMb", "whole number")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"cpus\": 1e999}}", "limits.cpus", "finite")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": [60]}", "limits", "must be an object")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"timeoutSecond\": 60}}", "limits.timeoutSecond", "unknown field")]
    [InlineData("{\"Dockerfile\": \"FROM a\"}", "Dockerfile", "unknown field")]
    [InlineData("{\"dockerfile\": 42}", "dockerfile", "must be a string")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"name\": \"\\ud800\"}", "name", "not valid Unicode")]
    [InlineData("{\"dockerfile\": \"FROM a\\udfff\"}", "dockerfile", "not valid Unicode")]
    public void Read_BadField_Is400NamingIt(string json, string field, string message)
    {
        var e = Refused(json);
        Assert.Equal(field, e.Field);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"\\ud800\": 1, \"dockerfile\": \"FROM a\"}")]
    [InlineData("{\"dockerfile\": \"FROM a\", \"limits\": {\"cpus\": NaN}}")]
    [InlineData("{\"dockerfile\": \"FROM a\",}")]
    [InlineData("[\"FROM a\"]")]
    [InlineData("null")]
    [InlineData("")]
    public void Read_NotASubmission_Is400(string json) => Refused(json);

    [Fact]
    public void Read_DeepNesting_Is400()
    {
        var e = Refused("{\"dockerfile\": \"FROM a\", \"limits\": {\"cpus\": " + new string('[', 50) + new string(']', 50) + "}}");
        Assert.Contains("depth", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_RawLoneSurrogateInTheDockerfile_Is400NamingIt()
    {
        var e = Refused([.. "{\"dockerfile\": \"FROM a"u8, 0xED, 0xA0, 0x80, .. "\"}"u8]);
        Assert.Equal("dockerfile", e.Field);
    }

    [Fact]
    public void Read_GeneratedValuesInEveryField_AreReadOrA400()
    {
        var json = new HostileJson(seed: 1207, maxDepth: 16);
        foreach (var field in new[] { "name", "dockerfile", "limits", "limits.timeoutSeconds", "limits.cpus" })
        {
            for (var i = 0; i < 600; i++)
            {
                var sample = json.Next();
                var value = Encoding.UTF8.GetString(sample.Utf8); // invalid UTF-8 becomes U+FFFD here; the raw bytes are used below
                byte[] body = field.StartsWith("limits.", StringComparison.Ordinal)
                    ? [.. Encoding.UTF8.GetBytes($"{{\"dockerfile\": \"FROM a\", \"limits\": {{\"{field[7..]}\": "), .. sample.Utf8, .. "}}"u8]
                    : [.. Encoding.UTF8.GetBytes($"{{\"dockerfile\": \"FROM a\", \"{field}\": "), .. sample.Utf8, .. "}"u8];
                var error = Record.Exception(() => SubmissionJson.Read(body));
                if (error is null)
                {
                    Assert.Equal(JsonDefect.None, sample.Defect);
                    continue;
                }
                var rejected = Assert.IsType<RequestRejectedException>(error);
                Assert.Equal(Rejection.BadRequest, rejected.Kind);
                if (sample.Defect == JsonDefect.None)
                {
                    Assert.True(rejected.Field?.StartsWith(field, StringComparison.Ordinal), $"{rejected.Field} for {value}");
                }
            }
        }
    }

    [Fact]
    public void Read_RandomAndMutatedBytes_AreReadOrA400()
    {
        var json = new HostileJson(seed: 5);
        var valid = Encoding.UTF8.GetBytes("{\"dockerfile\": \"FROM a\", \"name\": \"n\", \"limits\": {\"cpus\": 0.5, \"timeoutSeconds\": 60}}");
        var refused = 0;
        for (var i = 0; i < 4000; i++)
        {
            var bytes = i % 2 == 0 ? json.Mutate(valid) : json.Bytes(100);
            if (Record.Exception(() => SubmissionJson.Read(bytes)) is { } error)
            {
                Assert.Equal(Rejection.BadRequest, Assert.IsType<RequestRejectedException>(error).Kind);
                refused++;
            }
        }
        Assert.InRange(refused, 2000, 3999);
    }
}
