using Berth.Server.Auth;
using Berth.Server.Configuration;
using Berth.Server.Fleet;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Berth.Server.Storage.Postgres;
using Berth.Server.Streams;
using Berth.Server.Submissions;
using Microsoft.Extensions.Options;

namespace Berth.Server.Storage;

public static class StoreServices
{
    /// <summary>
    /// The store and what depends on where jobs are kept (<c>Store:Provider</c>): SQLite with local files and in-process
    /// workers, or PostgreSQL with files in the database and agents (<c>Berth:Workers</c> must then be 0).
    /// </summary>
    public static IServiceCollection AddBerthStore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.Section).ValidateDataAnnotations()
            .Validate<IOptions<BerthOptions>>((store, berth) => !store.IsPostgres || berth.Value.Workers == 0,
                "with Store:Provider=postgres jobs run on agents (./berth agent): set Berth:Workers=0")
            .ValidateOnStart();
        services.AddOptions<FleetOptions>().BindConfiguration(FleetOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AgentsOptions>().BindConfiguration(AgentsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddAuthentication().AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, AgentAuthentication>(AgentAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder().AddPolicy(AgentAuthentication.Policy, policy =>
            policy.AddAuthenticationSchemes(AgentAuthentication.SchemeName).RequireAuthenticatedUser());

        services.AddSingleton<JobChanges>(); // the stores publish to it, the live streams subscribe
        // Which implementations to register depends on it; a value that is no provider is refused at start-up (StoreOptions).
        if (configuration[$"{StoreOptions.Section}:Provider"] == "postgres")
        {
            services.AddSingleton<PostgresDatabase>();
            services.AddSingleton<IJobStore, PostgresJobStore>();
            services.AddSingleton<Webhooks.IWebhookOutbox, PostgresWebhookOutbox>();
            services.AddSingleton<IJobFiles, PostgresJobFiles>();
            services.AddSingleton(LogPolling.Announced);
            services.AddSingleton<IFleetStore, PostgresFleetStore>();
            services.AddSingleton<IJobExecution, FleetExecution>();
            services.AddSingleton<ISubmitQuota, DatabaseSubmitQuota>();
            services.AddHostedService<LeaseReaper>();
        }
        else
        {
            services.AddSingleton<SqliteJobStore>();
            services.AddSingleton<IJobStore>(sp => sp.GetRequiredService<SqliteJobStore>());
            services.AddSingleton<Webhooks.IWebhookOutbox, SqliteWebhookOutbox>();
            services.AddSingleton<IJobFiles, LocalJobFiles>();
            services.AddSingleton(LogPolling.Files);
            services.AddSingleton<IJobExecution, LocalExecution>();
            services.AddSingleton<ISubmitQuota, InMemorySubmitQuota>();
        }
        return services;
    }
}
