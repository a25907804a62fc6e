using System.Net;
using System.Text;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.Tests.Api;

/// <summary>Submissions are read as strictly as the README says: every loose input is a 400 ProblemDetails naming the field.</summary>
[Collection(ContractCollection.Name)]
public sealed class StrictSubmissionTests(ContractServer server) : IDisposable
{
    private readonly HttpClient _client = server.CreateClient();

    private const string Dockerfile = "FROM busybox:latest\\nCMD [\\\"true\\\"]\\n";

    private static Uri Jobs => new("/api/v1/jobs", UriKind.Relative);

    private async Task<string?> PostJsonAsync(string json)
    {
        using var response = await _client.PostAsync(Jobs, new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        return problem.TryGetProperty("field", out var field) ? field.GetString() : null;
    }

    private async Task<string?> PostFormAsync(params (string Name, HttpContent Content, string? FileName)[] parts)
    {
        using var form = new MultipartFormDataContent();
        foreach (var (name, content, fileName) in parts)
        {
            if (fileName is null)
            {
                form.Add(content, name);
            }
            else
            {
                form.Add(content, name, fileName);
            }
        }
        using var response = await _client.PostAsync(Jobs, form);
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        return problem.TryGetProperty("field", out var field) ? field.GetString() : null;
    }

    public void Dispose() => _client.Dispose();

    [Theory]
    [InlineData($"{{\"dockerfile\": \"{Dockerfile}\", \"dockerfile\": \"FROM evil:1\\n\"}}", "dockerfile")]
    [InlineData($"{{\"dockerfile\": \"{Dockerfile}\", \"name\": \"a\", \"\\u006eame\": \"b\"}}", "name")]
    [InlineData($"{{\"dockerfile\": \"{Dockerfile}\", \"limits\": {{\"timeoutSeconds\": 5, \"timeoutSeconds\": 100000}}}}", "limits.timeoutSeconds")]
    public async Task Submit_DuplicateJsonKey_Is400NamingTheField(string json, string field) =>
        Assert.Equal(field, await PostJsonAsync(json));

    [Fact]
    public async Task Submit_TimeoutSecondsAsAString_Is400NamingTheField() =>
        Assert.Equal("limits.timeoutSeconds", await PostJsonAsync($"{{\"dockerfile\": \"{Dockerfile}\", \"limits\": {{\"timeoutSeconds\": \"5\"}}}}"));

    [Fact]
    public async Task Submit_LoneSurrogateInTheName_Is400NamingTheField() =>
        Assert.Equal("name", await PostJsonAsync($"{{\"dockerfile\": \"{Dockerfile}\", \"name\": \"\\ud800\"}}"));

    [Fact]
    public async Task Submit_LoneSurrogateKey_Is400() =>
        await PostJsonAsync($"{{\"\\ud800\": 1, \"dockerfile\": \"{Dockerfile}\"}}");

    [Fact]
    public async Task Submit_MultipartCpusWithADecimalComma_Is400NamingTheField() =>
        Assert.Equal("limits.cpus", await PostFormAsync(
            ("dockerfile", new StringContent("FROM busybox:latest\n"), null),
            ("cpus", new StringContent("1,5"), null)));

    [Fact]
    public async Task Submit_MultipartRepeatedName_Is400NamingIt() =>
        Assert.Equal("name", await PostFormAsync(
            ("dockerfile", new StringContent("FROM busybox:latest\n"), null),
            ("name", new StringContent("a"), null),
            ("name", new StringContent("b"), null)));

    [Fact]
    public async Task Submit_MultipartDockerfileAsAFileAndAField_Is400NamingIt() =>
        Assert.Equal("dockerfile", await PostFormAsync(
            ("dockerfile", new StringContent("FROM busybox:latest\n"), "Dockerfile"),
            ("dockerfile", new StringContent("FROM evil:1\n"), null)));
}
