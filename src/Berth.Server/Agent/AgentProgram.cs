using System.Net;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Berth.Server.Pipeline;
using Microsoft.Extensions.Options;

namespace Berth.Server.Agent;

/// <summary>
/// <c>berth agent</c>: this executable without its web server. It runs the same pipeline as an in-process Berth (lint,
/// build, scan, hardened run, collect) on this machine's engine, for jobs it claims from the API servers
/// (<see cref="AgentLedger"/>). Configuration as the server's (appsettings.json, environment); the flags set
/// <c>Berth:DataRoot</c>, <c>Berth:Workers</c> and <c>Berth:DockerEndpoint</c>.
/// </summary>
public static class AgentProgram
{
    /// <summary>Time for the jobs in progress to be stopped, given back and cleaned up on SIGTERM.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromMinutes(2);

    /// <param name="args">The arguments after <c>agent</c>.</param>
    /// <returns>0 stopped, 1 start-up failed, 2 bad flags.</returns>
    public static Task<int> RunAsync(string[] args) =>
        RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable(AgentSettings.TokenVariable), Environment.MachineName, CancellationToken.None);

    internal static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, string? environmentToken, string hostName,
        CancellationToken stop)
    {
        var parsed = AgentArguments.Parse(args, environmentToken, hostName);
        if (parsed.Help)
        {
            await output.WriteLineAsync(AgentArguments.Usage);
            return 0;
        }
        if (parsed.Settings is not { } settings)
        {
            await error.WriteLineAsync($"berth agent: {parsed.Error}");
            await error.WriteLineAsync("Run 'berth agent --help' for the flags.");
            return 2;
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        try
        {
            Configure(builder, settings);
            using var host = builder.Build();
            Announce(settings, host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AgentProgram)));
            await host.RunAsync(stop);
            return 0;
        }
        catch (OptionsValidationException e)
        {
            await error.WriteLineAsync($"berth agent: the configuration is invalid: {string.Join(" ", e.Failures)}");
            return 1;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"berth agent: cannot start: {e.Message}");
            return 1;
        }
    }

    /// <summary>The agent's configuration and services on <paramref name="builder"/> (the tests use it with their fakes).</summary>
    public static void Configure(IHostApplicationBuilder builder, AgentSettings settings)
    {
        builder.Configuration.AddInMemoryCollection(settings.ConfigurationOverrides());
        builder.Logging.AddBerthConsole(builder.Configuration); // Logging:Format, as the server's
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddBerthAgent(settings);
    }

    /// <summary>
    /// The pipeline with <see cref="AgentLedger"/> as its ledger, the workers and the janitor. The janitor gives no grace
    /// to directories of unknown jobs: the ledger knows every job from its claim on, before its directory is made, so
    /// at start-up it removes at once all that a previous run of this agent left (containers, images, build cgroups,
    /// /data volumes, job directories of this agent's identity, in its data root).
    /// </summary>
    public static IServiceCollection AddBerthAgent(this IServiceCollection services, AgentSettings settings)
    {
        services.AddSingleton(settings);
        services.AddBerthPipeline();
        services.AddSingleton<FleetClient>();
        services.AddSingleton<AgentLedger>();
        services.AddSingleton<IJobLedger>(sp => sp.GetRequiredService<AgentLedger>());
        services.AddSingleton(sp =>
        {
            var janitor = ActivatorUtilities.CreateInstance<Janitor>(sp);
            janitor.DirectoryGrace = TimeSpan.Zero;
            return janitor;
        });
        services.AddBerthWorkers();
        return services;
    }

    private static void Announce(AgentSettings settings, ILogger logger)
    {
        Log.AgentStarting(logger, settings.ToString());
        foreach (var server in settings.Servers.Where(s => s.Scheme == Uri.UriSchemeHttp && !IsLoopback(s)))
        {
            Log.PlainHttpServer(logger, server.ToString());
        }
    }

    private static bool IsLoopback(Uri server) =>
        server.IsLoopback || (IPAddress.TryParse(server.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
