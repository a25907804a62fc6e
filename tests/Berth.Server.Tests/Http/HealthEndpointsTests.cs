using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Http;
using Berth.Server.Scanning;
using Berth.Server.Storage;
using Berth.Server.Tests.Fakes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.Server.Tests.Http;

public sealed class HealthEndpointsTests
{
    /// <summary>A socket path that does not exist: the engine check fails at once and no engine is contacted.</summary>
    private const string NoEngine = "unix:///nonexistent/berth-unit-test/docker.sock";

    [Fact]
    public async Task Ready_EngineDownAndDataRootUnwritable_503WithReasonNamesOnly_DetailsInTheLog()
    {
        var root = Directory.CreateTempSubdirectory("berth-ready-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, ".ready-probe")); // the probe file cannot be written over a directory
            var options = Options.Create(new BerthOptions { DataRoot = root, DockerEndpoint = NoEngine });
            var store = new SqliteJobStore(options);
            await store.InitializeAsync(CancellationToken.None);
            var engine = new FakeEngine { Down = true };
            using var logs = new ListLogger();
            using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));

            var scan = Options.Create(new ScanOptions { Database = Path.Combine(root, "no-vulndb") });
            using var databases = new AdvisoryDatabaseProvider(scan, options);

            var result = await HealthEndpoints.Ready(engine, store, options, Options.Create(new SandboxOptions()), scan, databases, TimeProvider.System,
                loggers, CancellationToken.None);

            var problem = Assert.IsType<ProblemHttpResult>(result.Result);
            Assert.Equal(503, problem.StatusCode);
            Assert.Equal([HealthEndpoints.EngineUnreachable, HealthEndpoints.ScanDatabaseMissing, HealthEndpoints.DataRootUnwritable],
                Assert.IsType<List<string>>(problem.ProblemDetails.Extensions["reasons"]));
            var detail = problem.ProblemDetails.Detail!;
            Assert.Equal("not ready: engine_unreachable, scan_database_missing, data_root_unwritable (the server log has the details)", detail);
            var text = string.Join("\n", logs.Lines);
            Assert.Contains(root, text, StringComparison.Ordinal);
            Assert.Contains(NoEngine, text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
