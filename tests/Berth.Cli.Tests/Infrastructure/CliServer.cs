using Berth.Tests.Shared;
using Berth.Server.Jobs;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Cli.Tests.Infrastructure;

/// <summary>
/// Berth's own server in this process (the pattern of the server tests' BerthApiFactory): a real Kestrel on a loopback
/// port, real SQLite, <c>Berth:Workers=0</c> (no job runs by itself) and an engine endpoint nobody listens on (no
/// Docker). Tests move jobs along through <see cref="Store"/>, as a worker would, while the CLI watches over HTTP.
/// The seam for end-to-end tests: any <see cref="Url"/> works with <see cref="CliRun"/>, a real Berth with Docker too.
/// </summary>
public class CliServer : WebApplicationFactory<Berth.Server.Api.JobView>
{
    /// <summary>The bundled advisory database, installed once per test process, so the server's start-up finds one.</summary>
    private static readonly Lazy<string> SharedDatabase = TestAdvisoryDatabase.For("cli");

    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly Lazy<Uri> _url;

    public CliServer()
        : this(new Dictionary<string, string>())
    {
    }

    /// <summary>More configuration keys (Auth:Keys, limits); internal, as a collection fixture has one public constructor.</summary>
    internal CliServer(IReadOnlyDictionary<string, string> settings)
    {
        _settings = settings;
        DataRoot = Directory.CreateTempSubdirectory("berth-cli-server-").FullName;
        UseKestrel(0);
        _url = new Lazy<Uri>(() =>
        {
            using var _ = CreateClient(); // starts the server
            var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Uri(address);
        });
    }

    public string DataRoot { get; }

    /// <summary>The server's real address (http://127.0.0.1:PORT).</summary>
    public Uri Url => _url.Value;

    public IJobStore Store => Services.GetRequiredService<IJobStore>();

    public IJobFiles Files => Services.GetRequiredService<IJobFiles>();

    public async Task<Job> GetAsync(string id) => await Store.GetAsync(id, CancellationToken.None) ?? throw new InvalidOperationException($"no job {id}");

    /// <summary>Saves the job changed by <paramref name="change"/>, as a worker saves its progress.</summary>
    public async Task<Job> AdvanceAsync(string id, Func<Job, Job> change)
    {
        var job = change(await GetAsync(id));
        await Store.SaveAsync(job, CancellationToken.None);
        return job;
    }

    /// <summary>The job with <paramref name="name"/>, once it is stored (the CLI submits it in the background).</summary>
    public async Task<Job> WaitForNamedAsync(string name, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            var jobs = await Store.ListAsync(null, null, 100, null, CancellationToken.None);
            if (jobs.FirstOrDefault(j => j.Name == name) is { } job)
            {
                return job;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"no job named {name} was submitted");
    }

    public async Task WriteFileAsync(string id, JobFile file, string text)
    {
        await using var content = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
        await Files.WriteAsync(id, file, content, CancellationToken.None);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("urls", "http://127.0.0.1:0");
        builder.UseSetting("Berth:DataRoot", DataRoot);
        builder.UseSetting("Berth:Workers", "0");
        builder.UseSetting("Berth:DockerEndpoint", $"unix://{Path.Combine(DataRoot, "no-engine.sock")}");
        builder.UseSetting("Scan:Database", SharedDatabase.Value);
        builder.UseSetting("Auth:SubmitsPerMinute", "100000");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureLogging(logging => logging.ClearProviders());
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(DataRoot))
        {
            Directory.Delete(DataRoot, recursive: true);
        }
    }
}

/// <summary>One <see cref="CliServer"/> shared by the client tests of a collection; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class CliServerCollection : ICollectionFixture<CliServer>
{
    public const string Name = "berth-cli-server";
}
