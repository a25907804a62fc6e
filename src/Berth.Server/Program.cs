using Berth.Server;
using Berth.Server.Agent;
using Berth.Server.Api;
using Berth.Server.Auth;
using Berth.Server.Configuration;
using Berth.Server.Dashboard;
using Berth.Server.Fleet;
using Berth.Server.Storage;
using Berth.Server.Http;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Metrics;
using Microsoft.Extensions.Options;
using Prometheus;
using Scalar.AspNetCore;

if (args is ["agent", ..])
{
    Environment.ExitCode = await AgentProgram.RunAsync(args[1..]); // `berth agent`: runs jobs of a fleet, no web server
    return;
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Logging.AddBerthConsole(builder.Configuration); // Logging:Format: auto, json or text
builder.Services.AddBerth(builder.Configuration);
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<StoreUnavailable>();
builder.Services.AddOpenApi(ApiDocs.Configure);
builder.Services.ConfigureHttpJsonOptions(o => JobJson.Configure(o.SerializerOptions));
builder.WebHost.ConfigureKestrel((context, k) =>
{
    // Kestrel:Endpoints are read once: a reload would bind new addresses the listen guard never saw.
    k.Configure(context.Configuration.GetSection("Kestrel"), reloadOnChange: false);
    k.Limits.MaxRequestBodySize = (context.Configuration.GetValue<long?>("Limits:MaxContextMb") ?? new LimitsOptions().MaxContextMb) * 1024 * 1024 + 4 * 1024 * 1024;
});

var app = builder.Build();
var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
var berth = app.Services.GetRequiredService<IOptions<BerthOptions>>().Value;
ListenGuard.Check(app.Configuration, auth, runsJobs: berth.Workers > 0);
await app.Services.GetRequiredService<IJobStore>().InitializeAsync(CancellationToken.None);
Directory.CreateDirectory(berth.JobsRoot);

app.UseBerthFrontDoor(auth);
app.UseHttpMetrics(); // http_requests_received_total, http_request_duration_seconds on /metrics
app.UseAuthentication();
app.UseAuthorization();
app.MapOpenApi();
app.MapScalarApiReference("/docs", ApiDocs.ConfigureReference);
app.MapHealthEndpoints();
app.MapMetricsEndpoint();
app.MapJobEndpoints();
app.MapDashboard(); // the dashboard at / and GET /api/v1/leaderboard
if (app.Services.GetRequiredService<IOptions<StoreOptions>>().Value.IsPostgres)
{
    app.MapAgentEndpoints(); // agents claim and report jobs here; a SQLite Berth runs its own
}
app.Run();
