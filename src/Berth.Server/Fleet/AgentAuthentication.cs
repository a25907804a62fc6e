using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Berth.Server.Fleet;

/// <summary>
/// Agents: <c>Authorization: Bearer &lt;agent token&gt;</c>, compared in constant time with the SHA-256 hashes in
/// <c>Agents:Tokens</c>. Only the agent routes use this scheme, and only they accept it: an agent token opens no user
/// route, and no API key opens an agent route.
/// </summary>
public sealed class AgentAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<AgentsOptions> agents) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "Agent";

    /// <summary>The authorization policy of the agent routes.</summary>
    public const string Policy = "agent";

    private readonly string[] _names = agents.Value.Tokens.Select(t => t.Name).ToArray();

    private readonly byte[][] _hashes = agents.Value.Tokens.Select(t => Convert.FromHexString(t.Sha256)).ToArray();

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("use Authorization: Bearer <agent token>"));
        }
        var match = Auth.BearerTokens.Match(header[7..], _hashes);
        if (match < 0)
        {
            return Task.FromResult(AuthenticateResult.Fail(_names.Length == 0 ? "no agents are registered (Agents:Tokens)" : "unknown agent token"));
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, _names[match])], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(
            result.Failure is null ? "send the agent token: Authorization: Bearer <token>" : $"the agent token was refused: {result.Failure.Message}",
            statusCode: 401, title: "Unauthorized").ExecuteAsync(Context);
    }
}
