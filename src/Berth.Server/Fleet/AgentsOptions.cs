using System.ComponentModel.DataAnnotations;

namespace Berth.Server.Fleet;

/// <summary>Registered agents (section <c>Agents</c>). Only the SHA-256 of each agent token is configured, as for API keys.</summary>
public sealed class AgentsOptions : IValidatableObject
{
    public const string Section = "Agents";

    public List<AgentToken> Tokens { get; set; } = [];

    public sealed class AgentToken
    {
        /// <summary>Who holds the token (logged with every claim).</summary>
        public string Name { get; set; } = "";

        /// <summary>Hex SHA-256 of the token.</summary>
        public string Sha256 { get; set; } = "";
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Tokens.Count; i++)
        {
            var token = Tokens[i];
            if (string.IsNullOrWhiteSpace(token.Name) || token.Name.Length > 64 || token.Name.Any(char.IsControl))
            {
                yield return new ValidationResult($"Agents:Tokens:{i}:Name must be 1-64 printable characters.");
            }
            if (token.Sha256.Length != 64 || !token.Sha256.All(char.IsAsciiHexDigit))
            {
                yield return new ValidationResult($"Agents:Tokens:{i}:Sha256 must be the 64-hex-digit SHA-256 of the token (e.g. `printf %s TOKEN | sha256sum`).");
            }
            else if (!seen.Add(token.Sha256))
            {
                yield return new ValidationResult($"Agents:Tokens:{i}:Sha256 repeats another token's hash.");
            }
        }
    }
}
