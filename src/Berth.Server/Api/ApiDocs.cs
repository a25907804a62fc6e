using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Server.Jobs;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Berth.Server.Api;

/// <summary>
/// The API reference: the OpenAPI document at <c>/openapi/v1.json</c> (Berth's title, an introduction, the bearer
/// scheme and an example on every operation) and the Scalar page at <c>/docs</c>, served from the server itself
/// (no CDN, no vendor fonts, no telemetry) without the vendor's AI chat, SDK and deploy buttons.
/// </summary>
public static class ApiDocs
{
    public const string Title = "Berth API";

    public const string Introduction = """
        Berth builds and runs Dockerfiles as jobs. Each job is **linted** (the Dockerfile's rules), **built** in a
        sandbox, **scanned** (OS and language packages against an offline advisory database, plus secrets), **run**
        under its limits (time, memory, CPUs, a `/data` volume) with no network, and **collected**: the number the
        container writes to `/data/perf.json` (`{"perf": 1.5}`) becomes the job's `performance`.

        ## Submit, then poll

        ```sh
        curl -s -X POST http://127.0.0.1:8080/api/v1/jobs -H 'Content-Type: application/json' \
          -d '{"dockerfile": "FROM python:3.12-slim\nCMD [\"python\", \"-c\", \"print(1)\"]\n", "name": "demo"}'
        # 202 Accepted, Location: /api/v1/jobs/<id>, body: the job, "status": "queued"

        curl -s http://127.0.0.1:8080/api/v1/jobs/<id>
        # poll until "status" is succeeded, failed or canceled (queued → linting → building → scanning → running)

        curl -s http://127.0.0.1:8080/api/v1/jobs/<id>/logs      # build log, then run log
        curl -s http://127.0.0.1:8080/api/v1/jobs/<id>/report    # lint and scan findings
        ```

        A failed job says why in `failure.reason` (a stable name such as `build_failed`, `vulnerable`, `timeout`) and
        `failure.message`. Errors are `application/problem+json` (`title`, `detail`, `status`).

        ## Authentication

        When the server has API keys (`Auth:Keys`), send one on every request: `Authorization: Bearer <key>`. A key
        with the `user` role sees its own jobs; `admin` sees every owner's. Without keys, Berth listens on loopback
        only and needs no header.
        """;

    /// <summary>The OpenAPI document's title, introduction, bearer scheme and examples.</summary>
    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo { Title = Title, Version = "v1", Description = Introduction };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key from Auth:Keys. Not needed when the server has no keys (loopback only).",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] }];
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var key = $"{context.Description.HttpMethod} /{context.Description.RelativePath?.TrimEnd('/')}";
            if (ApiExamples.For(key) is { } examples)
            {
                Apply(operation, examples);
            }
            return Task.CompletedTask;
        });
    }

    /// <summary>The <c>/docs</c> page: Berth's title, everything served locally, none of the vendor's buttons.</summary>
    public static void ConfigureReference(ScalarOptions options)
    {
        options.WithTitle(Title)
            .DisableAgent() // "Ask AI"
            .DisableMcp()
            .HideDeveloperTools() // the toolbar's "Deploy .NET" and "Generate SDK"
            .DisableDefaultFonts() // fonts from the vendor's CDN
            .WithDotNetFlag(false);
        options.Telemetry = false;
    }

    private static void Apply(OpenApiOperation operation, OperationExamples examples)
    {
        if (examples.Request is { } request)
        {
            operation.RequestBody ??= new OpenApiRequestBody();
            var body = (OpenApiRequestBody)operation.RequestBody;
            body.Content ??= new Dictionary<string, OpenApiMediaType>();
            foreach (var (mediaType, example) in request)
            {
                body.Content[mediaType] = new OpenApiMediaType { Example = example };
            }
        }
        operation.Responses ??= new OpenApiResponses();
        foreach (var (status, (description, mediaType, example)) in examples.Responses)
        {
            if (!operation.Responses.TryGetValue(status, out var existing) || existing is not OpenApiResponse response)
            {
                response = new OpenApiResponse { Description = description };
                operation.Responses[status] = response;
            }
            if (mediaType is not null)
            {
                response.Content ??= new Dictionary<string, OpenApiMediaType>();
                response.Content[mediaType] = response.Content.TryGetValue(mediaType, out var media) && media is OpenApiMediaType typed
                    ? new OpenApiMediaType(typed) { Example = example }
                    : new OpenApiMediaType { Example = example };
            }
        }
    }

    internal static JsonNode Json<T>(T value) => JsonSerializer.SerializeToNode(value, JobJson.Options)!;
}

/// <param name="Request">Media type → example body.</param>
/// <param name="Responses">Status code → its example.</param>
internal sealed record OperationExamples(IReadOnlyDictionary<string, JsonNode>? Request, IReadOnlyDictionary<string, ResponseExample> Responses);

/// <param name="MediaType">Null for a response without a body.</param>
internal sealed record ResponseExample(string Description, string? MediaType, JsonNode? Example);
