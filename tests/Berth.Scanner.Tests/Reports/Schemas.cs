using System.Text.Json;
using Json.Schema;

namespace Berth.Scanner.Tests.Reports;

/// <summary>
/// The published JSON schemas under testdata/schemas (see SOURCE.md there), built offline: every schema a
/// schema refers to is registered from the shipped files, and fetching is refused, so nothing is downloaded.
/// </summary>
internal static class Schemas
{
    private static readonly Lazy<JsonSchema> SarifSchema = new(() => Build("sarif-schema-2.1.0.json", new BuildOptions { SchemaRegistry = Offline() }));

    private static readonly Lazy<JsonSchema> CycloneDxSchema = new(() =>
    {
        var options = new BuildOptions { SchemaRegistry = Offline() };
        // The CycloneDX library ships its copies renamed to *.SNAPSHOT.schema.json and the bom schema's $refs name
        // those files; resolved against the bom's $id they are these URIs. The files are kept byte for byte as shipped.
        options.SchemaRegistry.Register(new Uri("http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json"), Build("spdx.schema.json", options));
        options.SchemaRegistry.Register(new Uri("http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json"), Build("jsf-0.82.schema.json", options));
        return Build("bom-1.5.schema.json", options);
    });

    /// <summary>The schema errors of a SARIF log (empty when it is valid SARIF 2.1.0).</summary>
    public static IReadOnlyList<string> SarifErrors(string json) => Errors(SarifSchema.Value, json);

    /// <summary>The schema errors of a CycloneDX BOM (empty when it is valid CycloneDX 1.5 JSON).</summary>
    public static IReadOnlyList<string> CycloneDxErrors(string json) => Errors(CycloneDxSchema.Value, json);

    private static SchemaRegistry Offline() => new()
    {
        Fetch = (uri, _) => throw new InvalidOperationException($"a schema referred to {uri}, which is not shipped under testdata/schemas"),
    };

    private static JsonSchema Build(string file, BuildOptions options) =>
        JsonSchema.FromText(File.ReadAllText(TestData.Path("schemas", file)), options);

    /// <summary>
    /// Every error of an invalid instance, as "instance location (schema path) keyword: message". The list also holds
    /// the errors of anyOf/oneOf alternatives that did not apply, so look for the location you expect.
    /// </summary>
    private static List<string> Errors(JsonSchema schema, string json)
    {
        using var document = JsonDocument.Parse(json);
        var results = schema.Evaluate(document.RootElement, new EvaluationOptions
        {
            OutputFormat = OutputFormat.List,
            RequireFormatValidation = true,
        });
        if (results.IsValid)
        {
            return [];
        }
        return (results.Details ?? []).Prepend(results)
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}) {e.Key}: {e.Value}"))
            .DefaultIfEmpty("invalid, with no error message")
            .ToList();
    }
}
