using System.Text;
using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.Configuration;
using Berth.Server.Errors;
using Berth.Server.Submissions;
using Microsoft.AspNetCore.Http;

namespace Berth.Server.Tests.Api;

/// <summary>The multipart form, read through <see cref="SubmissionReader.ReadAsync"/> from a real multipart body.</summary>
public sealed class SubmissionFormTests
{
    private const string Dockerfile = "FROM busybox:latest\n";

    private static async Task<JobSubmission> ReadAsync(params (string Name, string Value, bool File)[] parts)
    {
        using var form = new MultipartFormDataContent();
        foreach (var (name, value, file) in parts)
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(value));
            if (file)
            {
                form.Add(content, name, name + ".bin");
            }
            else
            {
                form.Add(content, name);
            }
        }
        var http = new DefaultHttpContext();
        http.Request.ContentType = form.Headers.ContentType!.ToString();
        http.Request.Body = new MemoryStream(await form.ReadAsByteArrayAsync());
        return await SubmissionReader.ReadAsync(http.Request, new LimitsOptions(), CancellationToken.None);
    }

    private static Task<JobSubmission> ReadFieldsAsync(params (string Name, string Value)[] fields) =>
        ReadAsync([("dockerfile", Dockerfile, false), .. fields.Select(f => (f.Name, f.Value, false))]);

    private static async Task<RequestRejectedException> RefusedAsync(Func<Task<JobSubmission>> read)
    {
        var e = await Assert.ThrowsAsync<RequestRejectedException>(read);
        Assert.Equal(Rejection.BadRequest, e.Kind);
        return e;
    }

    [Fact]
    public async Task ReadAsync_EveryField_IsRead()
    {
        var submission = await ReadFieldsAsync(("name", "n"), ("timeoutSeconds", "60"), ("memoryMb", "128"), ("cpus", "0.5"), ("dataMb", "8"));

        Assert.Equal((Dockerfile, "n"), (submission.Dockerfile, submission.Name));
        Assert.Equal(new LimitsRequest(60, 128, 0.5, 8), submission.Limits);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("", true)] // empty counts as absent
    public async Task ReadAsync_Cache_IsTrueOrFalse(string text, bool expected) =>
        Assert.Equal(expected, (await ReadFieldsAsync(("cache", text))).Cache);

    [Theory]
    [InlineData("TRUE")]
    [InlineData("1")]
    [InlineData("yes")]
    public async Task ReadAsync_CacheNotExactlyTrueOrFalse_Is400NamingIt(string text)
    {
        var e = await RefusedAsync(() => ReadFieldsAsync(("cache", text)));
        Assert.Equal("cache", e.Field);
    }

    [Fact]
    public async Task ReadAsync_CacheAsAFile_Is400NamingIt()
    {
        var e = await RefusedAsync(() => ReadAsync(("dockerfile", Dockerfile, false), ("cache", "false", true)));
        Assert.Equal("cache", e.Field);
    }

    [Theory]
    [InlineData("1.5", 1.5)]
    [InlineData("2", 2.0)]
    [InlineData("5e-1", 0.5)]
    [InlineData("0.25E1", 2.5)]
    public async Task ReadAsync_Cpus_FollowsJsonNumberGrammar(string text, double expected) =>
        Assert.Equal(expected, (await ReadFieldsAsync(("cpus", text))).Limits.Cpus);

    [Fact]
    public async Task ReadAsync_EmptyLimit_CountsAsAbsent() =>
        Assert.Null((await ReadFieldsAsync(("cpus", ""))).Limits.Cpus);

    [Theory]
    [InlineData("cpus", "1,5")]
    [InlineData("cpus", "1.000,5")]
    [InlineData("cpus", " 1")]
    [InlineData("cpus", "1 ")]
    [InlineData("cpus", "+1")]
    [InlineData("cpus", ".5")]
    [InlineData("cpus", "1.")]
    [InlineData("cpus", "0x10")]
    [InlineData("cpus", "NaN")]
    [InlineData("cpus", "Infinity")]
    [InlineData("cpus", "1e999")]
    [InlineData("cpus", "\u0661")] // ARABIC-INDIC DIGIT ONE
    [InlineData("cpus", "1\n")]
    [InlineData("timeoutSeconds", "1,000")]
    [InlineData("timeoutSeconds", "60.0")]
    [InlineData("timeoutSeconds", "6e1")]
    [InlineData("timeoutSeconds", "060")]
    [InlineData("timeoutSeconds", "99999999999")]
    [InlineData("memoryMb", "512MB")]
    [InlineData("dataMb", "-")]
    public async Task ReadAsync_NotANumber_Is400NamingTheLimit(string field, string text)
    {
        var e = await RefusedAsync(() => ReadFieldsAsync((field, text)));
        Assert.Equal($"limits.{field}", e.Field);
    }

    [Theory]
    [InlineData("name", "name", "name")]
    [InlineData("name", "Name", "name")]
    [InlineData("cpus", "cpus", "limits.cpus")]
    [InlineData("timeoutSeconds", "timeoutSeconds", "limits.timeoutSeconds")]
    public async Task ReadAsync_RepeatedField_Is400NamingIt(string first, string second, string field)
    {
        var e = await RefusedAsync(() => ReadFieldsAsync((first, "1"), (second, "2")));
        Assert.Equal(field, e.Field);
        Assert.Contains("appears 2 times", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_DockerfileAsAFileAndAField_Is400NamingIt()
    {
        var e = await RefusedAsync(() => ReadAsync(("dockerfile", Dockerfile, true), ("dockerfile", "FROM other\n", false)));
        Assert.Equal("dockerfile", e.Field);
    }

    [Fact]
    public async Task ReadAsync_TwoDockerfileFiles_Is400NamingIt()
    {
        var e = await RefusedAsync(() => ReadAsync(("dockerfile", Dockerfile, true), ("dockerfile", "FROM other\n", true)));
        Assert.Equal("dockerfile", e.Field);
    }

    [Fact]
    public async Task ReadAsync_TwoContexts_Is400NamingIt()
    {
        var e = await RefusedAsync(() => ReadAsync(("dockerfile", Dockerfile, false), ("context", "a", true), ("context", "b", true)));
        Assert.Equal("context", e.Field);
    }

    [Fact]
    public async Task ReadAsync_UnknownPart_Is400NamingIt()
    {
        var e = await RefusedAsync(() => ReadFieldsAsync(("timeout", "60")));
        Assert.Equal("timeout", e.Field);
        Assert.Contains("unknown form part", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_NameAsAFile_Is400NamingIt()
    {
        var e = await RefusedAsync(() => ReadAsync(("dockerfile", Dockerfile, false), ("name", "n", true)));
        Assert.Equal("name", e.Field);
    }

    /// <summary>Property: a cpus text is accepted exactly when it is a finite JSON number, and then means what JSON says.</summary>
    [Fact]
    public async Task ReadAsync_RandomCpusTexts_AcceptedExactlyWhenAJsonNumber()
    {
        const string alphabet = "0123456789012345.,eE+- x_\u0661\u00a0";
        var random = new Random(3003);
        var accepted = 0;
        for (var i = 0; i < 1500; i++)
        {
            var text = new string(Enumerable.Range(0, random.Next(1, 7)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            var expected = JsonNumber(text);

            var error = await Record.ExceptionAsync(async () => Assert.Equal(expected, (await ReadFieldsAsync(("cpus", text))).Limits.Cpus));

            if (expected is null)
            {
                Assert.Equal("limits.cpus", Assert.IsType<RequestRejectedException>(error).Field);
            }
            else
            {
                Assert.Null(error);
                accepted++;
            }
        }
        Assert.InRange(accepted, 100, 1400);
    }

    /// <summary>The oracle: System.Text.Json's own number grammar, with no surrounding whitespace.</summary>
    private static double? JsonNumber(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return text.Trim() == text && document.RootElement.ValueKind == JsonValueKind.Number
                && document.RootElement.TryGetDouble(out var value) && double.IsFinite(value) ? value : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
