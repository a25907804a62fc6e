using Berth.Tests.Shared;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace Berth.Server.Tests.Api;

/// <summary>
/// Berth's own Program in this process, on a real Kestrel bound to a loopback port (the body limits and the
/// listen guard are Kestrel's), with <c>Berth:Workers=0</c> (no job runs, nothing is recovered, no janitor) and
/// an engine endpoint on a socket nobody listens on: no Docker engine is touched, and <c>/readyz</c> says
/// <c>engine_unreachable</c>.
/// </summary>
public class BerthApiFactory : WebApplicationFactory<Program>
{
    private static readonly Lazy<string> SharedDatabase = TestAdvisoryDatabase.For("api");

    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly bool _ownsDataRoot;

    public BerthApiFactory()
        : this(new Dictionary<string, string>())
    {
    }

    /// <param name="settings">More configuration keys (<c>Auth:Keys</c>, limits); they win over the defaults above.</param>
    /// <param name="dataRoot">The data root to use (the caller keeps it); a fresh temporary folder, deleted on dispose, when null.</param>
    public BerthApiFactory(IReadOnlyDictionary<string, string> settings, string? dataRoot = null)
    {
        _settings = settings;
        _ownsDataRoot = dataRoot is null;
        DataRoot = dataRoot ?? Directory.CreateTempSubdirectory("berth-api-").FullName;
        UseKestrel(0);
    }

    public string DataRoot { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("urls", "http://127.0.0.1:0");
        builder.UseSetting("Berth:DataRoot", DataRoot);
        builder.UseSetting("Berth:Workers", "0");
        builder.UseSetting("Berth:DockerEndpoint", $"unix://{Path.Combine(DataRoot, "no-engine.sock")}");
        builder.UseSetting("Scan:Database", SharedDatabase.Value);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureLogging(logging => logging.ClearProviders());
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && _ownsDataRoot && Directory.Exists(DataRoot))
        {
            Directory.Delete(DataRoot, recursive: true);
        }
    }
}

/// <summary>The limits the integration suite's shared server uses, so the same inputs meet the same maxima.</summary>
public sealed class ContractServer() : BerthApiFactory(new Dictionary<string, string>
{
    ["Limits:MaxTimeoutSeconds"] = "120",
    ["Limits:DefaultTimeoutSeconds"] = "60",
    ["Limits:MaxMemoryMb"] = "1024",
    ["Limits:DefaultMemoryMb"] = "256",
    ["Limits:MaxContextMb"] = "2",
    ["Auth:SubmitsPerMinute"] = "100000",
});

/// <summary>One <see cref="ContractServer"/> for the HTTP contract tests; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class ContractCollection : ICollectionFixture<ContractServer>
{
    public const string Name = "berth-api";
}
