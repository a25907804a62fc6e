using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Server.Configuration;

namespace Berth.Server.Agent;

/// <summary>
/// What <c>berth agent</c> was started with. <see cref="Token"/> is a secret: it never appears in <see cref="ToString"/>.
/// </summary>
/// <param name="Servers">The API servers, in order of preference; the agent moves on to the next one when one does not answer.</param>
/// <param name="Token">The agent token (<c>Authorization: Bearer</c>); the server keeps only its SHA-256 (<c>Agents:Tokens</c>).</param>
/// <param name="Workers">How many jobs run here at once (<c>Berth:Workers</c>).</param>
/// <param name="Engine">The Docker Engine endpoint (<c>Berth:DockerEndpoint</c>).</param>
/// <param name="DataRoot">Job directories, /data volumes and the agent's identity (<c>Berth:DataRoot</c>).</param>
/// <param name="Name">Shown as each job's <c>agent</c>.</param>
public sealed record AgentSettings(IReadOnlyList<Uri> Servers, string Token, int Workers, string Engine, string DataRoot, string Name)
{
    public const string TokenVariable = "BERTH_AGENT_TOKEN";
    public const int DefaultWorkers = 2;
    public const string DefaultEngine = "unix:///var/run/docker.sock";
    public const string DefaultDataRoot = "/var/lib/berth-agent";

    /// <summary>The configuration keys the flags set; they win over appsettings.json and the environment.</summary>
    public IReadOnlyDictionary<string, string?> ConfigurationOverrides() => new Dictionary<string, string?>
    {
        [$"{BerthOptions.Section}:{nameof(BerthOptions.DataRoot)}"] = DataRoot,
        [$"{BerthOptions.Section}:{nameof(BerthOptions.Workers)}"] = Workers.ToString(CultureInfo.InvariantCulture),
        [$"{BerthOptions.Section}:{nameof(BerthOptions.DockerEndpoint)}"] = Engine,
    };

    public override string ToString() =>
        $"agent {Name}: servers {string.Join(", ", Servers)}, {Workers} workers, engine {Engine}, data in {DataRoot}";
}

/// <summary>The outcome of reading <c>berth agent</c>'s flags: settings, a usage error (naming the flag), or a request for help.</summary>
public sealed partial record AgentArguments(AgentSettings? Settings, string? Error, bool Help)
{
    public const string Usage = """
        Usage: berth agent --server <url> [--server <url> ...] [--token <token>] [--workers N] [--engine <endpoint>]
                           [--data-root <dir>] [--name <name>]

        Runs jobs of a Berth fleet on this machine's Docker engine: claims them from the API servers over HTTP, holds a
        lease on each while it runs, and sends back logs, the scan report, the SBOM and the result. It needs no database.

          --server <url>       An API server (http or https). Repeat it, or separate several with commas: the agent
                               moves on to the next one when one does not answer. Required.
          --token <token>      The agent token. Prefer the BERTH_AGENT_TOKEN environment variable: a flag is visible
                               to every user of this machine in the process list. Required (one or the other).
          --workers N          Jobs run at once, 1-64 (default 2).
          --engine <endpoint>  Docker Engine endpoint (default unix:///var/run/docker.sock).
          --data-root <dir>    Job directories, /data volumes and the agent's identity (default /var/lib/berth-agent).
          --name <name>        Shown as each job's agent: 1-64 of A-Z a-z 0-9 . _ - (default the host name).

        Exit codes: 0 stopped, 1 start-up failed (configuration, data root), 2 bad flags.
        """;

    private static readonly string[] EngineSchemes = ["unix", "tcp", "http", "https", "npipe"];

    public static AgentArguments Fail(string error) => new(null, error, false);

    /// <param name="args">The flags after <c>agent</c>.</param>
    /// <param name="environmentToken">The value of <see cref="AgentSettings.TokenVariable"/>, if set.</param>
    /// <param name="hostName">The default <c>--name</c>.</param>
    public static AgentArguments Parse(IReadOnlyList<string> args, string? environmentToken, string hostName)
    {
        var servers = new List<Uri>();
        var single = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h")
            {
                return new(null, null, true);
            }
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var flag = equals > 0 ? arg[..equals] : arg;
            if (flag is not ("--server" or "--token" or "--workers" or "--engine" or "--data-root" or "--name"))
            {
                return Fail(arg.StartsWith('-') ? $"unknown flag {flag}" : $"unexpected argument '{arg}' (every value follows its flag)");
            }
            string value;
            if (equals > 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                return Fail($"{flag} needs a value");
            }
            if (flag == "--server")
            {
                foreach (var text in value.Split(',', StringSplitOptions.TrimEntries))
                {
                    if (ParseServer(text) is not { } server)
                    {
                        return Fail($"--server '{text}' is not an http:// or https:// URL without credentials, query or fragment");
                    }
                    servers.Add(server);
                }
            }
            else if (!single.TryAdd(flag, value))
            {
                return Fail($"{flag} is given more than once");
            }
        }

        if (servers.Count == 0)
        {
            return Fail("--server is required (the URL of an API server)");
        }
        var token = single.GetValueOrDefault("--token") ?? environmentToken;
        if (string.IsNullOrEmpty(token))
        {
            return Fail($"--token is required (or set {AgentSettings.TokenVariable}, which keeps it out of the process list)");
        }
        if (token.Length > 4096 || token.Any(c => c <= ' ' || c > '~'))
        {
            return Fail("--token must be 1-4096 printable ASCII characters without spaces");
        }
        var workers = AgentSettings.DefaultWorkers;
        if (single.TryGetValue("--workers", out var workersText)
            && (!int.TryParse(workersText, NumberStyles.None, CultureInfo.InvariantCulture, out workers) || workers is < 1 or > 64))
        {
            return Fail($"--workers must be a whole number from 1 to 64, not '{workersText}'");
        }
        var engine = single.GetValueOrDefault("--engine") ?? AgentSettings.DefaultEngine;
        if (!Uri.TryCreate(engine, UriKind.Absolute, out var engineUri) || !EngineSchemes.Contains(engineUri.Scheme))
        {
            return Fail($"--engine '{engine}' is not a Docker endpoint (unix:///path, tcp://host:port, ...)");
        }
        var dataRoot = single.GetValueOrDefault("--data-root") ?? AgentSettings.DefaultDataRoot;
        if (dataRoot.Length == 0 || dataRoot.Contains('\0', StringComparison.Ordinal))
        {
            return Fail("--data-root must be a directory path");
        }
        var name = single.GetValueOrDefault("--name") ?? hostName;
        if (!NamePattern().IsMatch(name))
        {
            return Fail(single.ContainsKey("--name")
                ? $"--name '{name}' must be 1-64 of A-Z a-z 0-9 . _ -"
                : $"--name is needed: the host name '{name}' is not a valid agent name (1-64 of A-Z a-z 0-9 . _ -)");
        }
        return new(new AgentSettings(servers, token, workers, engine, Path.GetFullPath(dataRoot), name), null, false);
    }

    private static Uri? ParseServer(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "https"
        && uri.UserInfo.Length == 0
        && uri.Query.Length == 0
        && uri.Fragment.Length == 0
            ? uri
            : null;

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,64}\z")]
    private static partial Regex NamePattern();
}
