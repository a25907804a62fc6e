using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Berth.Server.Configuration;
using Berth.Server.Jobs;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Berth.Server.Auth;

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c>, checked against the SHA-256 hashes in <c>Auth:Keys</c> in constant
/// time. With no keys configured every caller is the local admin (Berth then listens on loopback only).
/// </summary>
public sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<AuthOptions> auth) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    private readonly (string Owner, KeyRole Role)[] _keys = auth.Value.Keys.Select(k => (k.Owner, k.Access)).ToArray();

    private readonly byte[][] _hashes = auth.Value.Keys.Select(k => Convert.FromHexString(k.Sha256)).ToArray();

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (_keys.Length == 0)
        {
            return Task.FromResult(Success(Job.LocalOwner, KeyRole.Admin));
        }
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0 || Request.Path.StartsWithSegments(Fleet.AgentProtocol.Prefix, StringComparison.Ordinal))
        {
            // Agent routes take agent tokens only (Fleet.AgentAuthentication): an agent's token is no API key to try here.
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("use Authorization: Bearer <key>"));
        }
        var match = BearerTokens.Match(header[7..], _hashes);
        return Task.FromResult(match < 0 ? AuthenticateResult.Fail("unknown API key") : Success(_keys[match].Owner, _keys[match].Role));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(
            result.Failure is null ? "send an API key: Authorization: Bearer <key>" : $"the API key was refused: {result.Failure.Message}",
            statusCode: 401, title: "Unauthorized").ExecuteAsync(Context);
    }

    private static AuthenticateResult Success(string owner, KeyRole role)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, owner), new Claim(ClaimTypes.Role, role.ToWire())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
