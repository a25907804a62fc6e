using System.ComponentModel.DataAnnotations;

namespace Berth.Server.Configuration;

/// <summary>API keys (section <c>Auth</c>). No keys: no authentication, and Berth listens on loopback only.</summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string Section = "Auth";

    public List<ApiKey> Keys { get; set; } = [];

    /// <summary>Submissions per owner per minute (token bucket; the burst is the same number).</summary>
    [Range(1, 100_000)]
    public int SubmitsPerMinute { get; set; } = 60;

    /// <summary>
    /// The origin browsers see Berth at when a proxy in front of it changes the scheme or port (a TLS proxy:
    /// <c>https://berth.example.com</c>). The dashboard's state-changing requests carry that origin; without this
    /// setting the browser guard compares it with the scheme, host and port Berth itself receives, and refuses them.
    /// </summary>
    public string? PublicOrigin { get; set; }

    public sealed class ApiKey
    {
        public string Owner { get; set; } = "";

        /// <summary><c>user</c> sees its own jobs; <c>admin</c> sees all. Bound as text, so a wrong word fails validation instead of dropping the key.</summary>
        public string Role { get; set; } = "user";

        /// <summary>Hex SHA-256 of the key: plain keys never appear in configuration.</summary>
        public string Sha256 { get; set; } = "";

        /// <summary><see cref="Role"/> as a value; a word that is no role (refused at start-up) gives the least access.</summary>
        public KeyRole Access => KeyRoles.TryParse(Role, out var role) ? role : KeyRole.User;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PublicOrigin is not null && !Http.BrowserGuard.IsSerializedOrigin(PublicOrigin, out _))
        {
            yield return new ValidationResult($"Auth:PublicOrigin '{PublicOrigin}' must be an origin like https://berth.example.com (scheme, host, optional port; no path).");
        }
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Keys.Count; i++)
        {
            var key = Keys[i];
            if (string.IsNullOrWhiteSpace(key.Owner) || key.Owner.Length > 100 || key.Owner.Any(char.IsControl))
            {
                yield return new ValidationResult($"Auth:Keys:{i}:Owner must be 1-100 printable characters.");
            }
            if (!KeyRoles.TryParse(key.Role, out _))
            {
                yield return new ValidationResult($"Auth:Keys:{i}:Role must be 'user' or 'admin'.");
            }
            if (key.Sha256.Length != 64 || !key.Sha256.All(char.IsAsciiHexDigit))
            {
                yield return new ValidationResult($"Auth:Keys:{i}:Sha256 must be the 64-hex-digit SHA-256 of the key (e.g. `printf %s KEY | sha256sum`).");
            }
            else if (!seen.Add(key.Sha256))
            {
                yield return new ValidationResult($"Auth:Keys:{i}:Sha256 repeats another key's hash.");
            }
        }
    }
}

/// <summary>What an API key may see. Configured, and carried in the role claim, as <c>user</c> or <c>admin</c>.</summary>
public enum KeyRole
{
    /// <summary>Its own jobs only.</summary>
    User,

    /// <summary>Every owner's jobs.</summary>
    Admin,
}

public static class KeyRoles
{
    public static string ToWire(this KeyRole role) => role.ToString().ToLowerInvariant();

    /// <summary>Only the exact lower-case names, as configuration has always required.</summary>
    public static bool TryParse(string? value, out KeyRole role)
    {
        role = default;
        return value is { Length: > 0 } && value.All(char.IsAsciiLetterLower) && Enum.TryParse(value, ignoreCase: true, out role);
    }
}
