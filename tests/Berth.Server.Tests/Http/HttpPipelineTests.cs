using System.Net;
using System.Text;
using Berth.Server.Configuration;
using Berth.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Server.Tests.Http;

/// <summary>The front door on a real Kestrel bound to 127.0.0.1 (no Docker): what a browser or a crash can get out of it.</summary>
public sealed class HttpPipelineTests
{
    private const string Secret = "/var/lib/berth/jobs/secret.db";

    private static readonly AuthOptions Keyless = new();

    private static readonly AuthOptions WithKeys = new() { Keys = [new() { Owner = "ops", Role = "admin", Sha256 = new string('a', 64) }] };

    private sealed class Server(WebApplication app, string contentRoot) : IAsyncDisposable
    {
        private HttpClient? _client;

        /// <summary>Made on first use: the port is known once the server listens.</summary>
        public HttpClient Client => _client ??= new() { BaseAddress = new Uri(app.Urls.Single()) };

        public int Created { get; set; }

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? host = null, string? origin = null, HttpContent? content = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            if (host is not null)
            {
                request.Headers.Host = host;
            }
            if (origin is not null)
            {
                request.Headers.Add("Origin", origin);
            }
            return await Client.SendAsync(request);
        }

        public async ValueTask DisposeAsync()
        {
            _client?.Dispose();
            await app.DisposeAsync();
            Directory.Delete(contentRoot, recursive: true);
        }
    }

    private static async Task<Server> StartAsync(AuthOptions auth, string environment = "Production")
    {
        var contentRoot = Directory.CreateTempSubdirectory("berth-http-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment, ContentRootPath = contentRoot });
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        var server = new Server(app, contentRoot);
        app.UseBerthFrontDoor(auth);
        app.MapGet("/boom", string () => throw new InvalidOperationException($"cannot open {Secret}"));
        app.MapGet("/logs", () => Results.Text("<script>alert(1)</script>", "text/plain; charset=utf-8"));
        app.MapPost("/jobs", () =>
        {
            server.Created++;
            return Results.Accepted();
        });
        await app.StartAsync();
        return server;
    }

    private static async Task<string> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        return body;
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Development")]
    public async Task UnhandledException_Is500ProblemWithoutExceptionTextOrPaths(string environment)
    {
        await using var server = await StartAsync(Keyless, environment);
        using var response = await server.SendAsync(HttpMethod.Get, "/boom");

        var body = await ProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.DoesNotContain("/var/lib", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keyless_LoopbackListen_PassesTheListenCheckAndEveryResponseIsNoSniff()
    {
        await using var server = await StartAsync(Keyless);
        using var response = await server.SendAsync(HttpMethod.Get, "/logs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task Keyless_ForeignHost_Is421Problem()
    {
        await using var server = await StartAsync(Keyless);
        using var response = await server.SendAsync(HttpMethod.Get, "/logs", host: "evil.example");

        Assert.Contains("Auth:Keys", await ProblemAsync(response, HttpStatusCode.MisdirectedRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithKeys_ForeignHost_Passes()
    {
        await using var server = await StartAsync(WithKeys);
        using var response = await server.SendAsync(HttpMethod.Get, "/logs", host: "berth.example.com");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CrossOriginTextPost_Is403AndNothingIsCreated_SameOriginPasses(bool keys)
    {
        await using var server = await StartAsync(keys ? WithKeys : Keyless);
        var self = server.Client.BaseAddress!.GetLeftPart(UriPartial.Authority);

        using (var refused = await server.SendAsync(HttpMethod.Post, "/jobs", origin: "http://evil.example", content: new StringContent("FROM busybox", Encoding.UTF8, "text/plain")))
        {
            await ProblemAsync(refused, HttpStatusCode.Forbidden);
        }
        Assert.Equal(0, server.Created);
        using (var accepted = await server.SendAsync(HttpMethod.Post, "/jobs", origin: self, content: new StringContent("FROM busybox", Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }
        Assert.Equal(1, server.Created);
    }
}
