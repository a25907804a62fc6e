using Berth.Scanner.Layers;
using Berth.Server.Auth;
using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Dockerfiles;
using Berth.Server.Jobs;
using Berth.Server.Pipeline;
using Berth.Server.Pipeline.Stages;
using Berth.Server.Scanning;
using Berth.Server.Storage;
using Berth.Server.Submissions;
using Berth.Server.Webhooks;
using Docker.DotNet;
using Microsoft.Extensions.Options;
using Berth.Scanner;

namespace Berth.Server;

public static class BerthServices
{
    /// <summary>Options (validated at start-up), the store, the API's services, the engine, the pipeline and the workers.</summary>
    public static IServiceCollection AddBerth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddAuthentication(ApiKeyAuthentication.SchemeName).AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorization();

        services.AddBerthPipeline();
        services.AddBerthStore(configuration);
        services.AddSingleton<IJobLedger>(sp => sp.GetRequiredService<IJobStore>());
        services.AddSingleton<JobService>();
        services.AddBerthWebhooks();
        services.AddBerthWorkers();
        return services;
    }

    /// <summary>
    /// What runs jobs on a node, without any job store: options (validated at start-up), the engine, the stages and
    /// the pipeline, the node's job resources, the janitor, and the advisory database set-up. The caller registers an
    /// <see cref="IJobLedger"/> and then <see cref="AddBerthWorkers"/>.
    /// </summary>
    public static IServiceCollection AddBerthPipeline(this IServiceCollection services)
    {
        services.AddOptions<BerthOptions>().BindConfiguration(BerthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BuildOptions>().BindConfiguration(BuildOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SandboxOptions>().BindConfiguration(SandboxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<SandboxOptions>, RunscPidsValidation>();
        services.AddOptions<ScanOptions>().BindConfiguration(ScanOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<Metrics.JobMetrics>();
        services.AddSingleton<IJobOutcomes>(sp => sp.GetRequiredService<Metrics.JobMetrics>());
        services.AddSingleton<EngineBuildClient>();
        services.AddSingleton<IContainerEngine>(sp => new DockerEngine(
            new DockerClientBuilder().WithEndpoint(new Uri(sp.GetRequiredService<IOptions<BerthOptions>>().Value.DockerEndpoint)).Build(),
            sp.GetRequiredService<EngineBuildClient>()));
        services.AddSingleton(sp => InstanceIdentity.LoadOrCreate(sp.GetRequiredService<IOptions<BerthOptions>>().Value.DataRoot));
        services.AddSingleton(sp => new EngineNames(sp.GetRequiredService<InstanceIdentity>().Id));
        services.AddSingleton(sp => new HardeningProfile(
            sp.GetRequiredService<IOptions<SandboxOptions>>().Value,
            sp.GetRequiredService<IOptions<LimitsOptions>>().Value,
            sp.GetRequiredService<IOptions<BuildOptions>>().Value,
            sp.GetRequiredService<EngineNames>()));

        services.AddSingleton(sp => new AllowedImages(sp.GetRequiredService<IOptions<BuildOptions>>().Value.EffectiveAllowedImages()));
        services.AddSingleton<LintStage>();
        services.AddSingleton<BuildCgroups>();
        services.AddSingleton<BuildDiskWatch>();
        services.AddSingleton<ImageReuse>();
        services.AddSingleton<BuildStage>();
        services.AddSingleton<AdvisoryDatabaseProvider>();
        services.AddSingleton(sp => new LayerCache(
            Path.Combine(sp.GetRequiredService<IOptions<BerthOptions>>().Value.DataRoot, "scan-cache"),
            Units.Mebibytes(sp.GetRequiredService<IOptions<ScanOptions>>().Value.CacheMb),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ScanStage>();
        services.AddSingleton<IDataVolumes, DataVolumes>();
        services.AddSingleton<RunStage>();
        services.AddSingleton<CollectStage>();
        services.AddSingleton<JobPipeline>();

        services.AddSingleton<ActiveJobs>();
        services.AddSingleton<RunscContainers>();
        services.AddSingleton<JobResources>();
        services.AddSingleton<Janitor>();
        services.AddHostedService<ScanDatabaseSetup>(); // before the runner: recovered jobs scan with a database
        return services;
    }

    /// <summary>The workers (claiming from the registered <see cref="IJobLedger"/>) and the janitor's timer. After <see cref="AddBerthPipeline"/>.</summary>
    public static IServiceCollection AddBerthWorkers(this IServiceCollection services)
    {
        services.AddSingleton<QueueSignal>();
        services.AddHostedService<JobRunner>();
        services.AddHostedService<JanitorService>();
        return services;
    }
}
