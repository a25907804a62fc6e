using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Berth.Server.Api;

namespace Berth.Server.Tests.Api;

/// <summary>The OpenAPI document and the <c>/docs</c> page as served.</summary>
[Collection(ContractCollection.Name)]
public sealed partial class ApiDocsTests(ContractServer server)
{
    private static readonly string[] Methods = ["get", "post", "put", "delete", "patch"];

    [GeneratedRegex(@"initialize\(\s*'[^']*',\s*(?:true|false),\s*(\{.*?\}),\s*'", RegexOptions.Singleline)]
    private static partial Regex ScalarConfiguration();

    private async Task<JsonObject> DocumentAsync()
    {
        using var client = server.CreateClient();
        return JsonNode.Parse(await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!.AsObject();
    }

    [Fact]
    public async Task OpenApi_Document_HasBerthsTitleIntroductionAndBearerScheme()
    {
        var document = await DocumentAsync();

        Assert.Equal("Berth API", (string?)document["info"]?["title"]);
        var description = (string?)document["info"]?["description"] ?? "";
        Assert.Contains("POST http://127.0.0.1:8080/api/v1/jobs", description, StringComparison.Ordinal);
        Assert.Contains("Authorization: Bearer <key>", description, StringComparison.Ordinal);
        Assert.Equal("bearer", (string?)document["components"]?["securitySchemes"]?["bearer"]?["scheme"]);
    }

    [Fact]
    public async Task OpenApi_EveryOperation_HasAResponseExample()
    {
        var document = await DocumentAsync();
        var operations = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Where(o => Methods.Contains(o.Key)).Select(o => (Key: $"{o.Key.ToUpperInvariant()} {path.Key}", Operation: o.Value!)))
            .ToList();

        Assert.Contains(operations, o => o.Key == "POST /api/v1/jobs");
        Assert.All(operations, o =>
        {
            var examples = o.Operation["responses"]!.AsObject()
                .SelectMany(r => r.Value?["content"]?.AsObject().Select(c => c.Value?["example"]) ?? [])
                .Where(e => e is not null);
            Assert.True(examples.Any(), $"{o.Key} has no response example");
        });
    }

    [Fact]
    public async Task OpenApi_Submit_HasJsonAndTextRequestExamplesAndAQueuedJobView()
    {
        var submit = (await DocumentAsync())["paths"]!["/api/v1/jobs"]!["post"]!;

        var json = submit["requestBody"]?["content"]?["application/json"]?["example"];
        Assert.StartsWith("FROM ", (string?)json?["dockerfile"], StringComparison.Ordinal);
        Assert.Equal(120, (int?)json?["limits"]?["timeoutSeconds"]);
        Assert.StartsWith("FROM ", (string?)submit["requestBody"]?["content"]?["text/plain"]?["example"], StringComparison.Ordinal);
        var accepted = submit["responses"]?["202"]?["content"]?["application/json"]?["example"];
        Assert.Equal("queued", (string?)accepted?["status"]);
        Assert.Equal(["lint", "build", "scan", "run", "collect"], accepted?["stages"]?.AsArray().Select(s => (string?)s?["name"]));
    }

    [Fact]
    public async Task Docs_Page_HasBerthsTitleAndNoneOfTheVendorsButtons()
    {
        using var client = server.CreateClient();
        using var response = await client.GetAsync(new Uri("/docs/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Contains("<title>Berth API</title>", html, StringComparison.Ordinal);
        var configuration = JsonNode.Parse(ScalarConfiguration().Match(html).Groups[1].Value)!;
        Assert.True((bool?)configuration["agent"]?["disabled"]); // "Ask AI"
        Assert.Equal("never", (string?)configuration["showDeveloperTools"]); // "Deploy .NET", "Generate SDK"
        Assert.True((bool?)configuration["mcp"]?["disabled"]);
        Assert.False((bool?)configuration["telemetry"]);
        Assert.False((bool?)configuration["withDefaultFonts"]);
        Assert.Null(configuration["_integration"]);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal); // nothing from a CDN
    }

    [Fact]
    public async Task Docs_Script_IsServedByBerth()
    {
        using var client = server.CreateClient();
        using var response = await client.GetAsync(new Uri("/docs/scalar.js", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 100_000);
    }
}
