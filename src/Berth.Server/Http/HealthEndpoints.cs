using Berth.Server.Configuration;
using Berth.Server.Docker;
using Berth.Server.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Berth.Server.Http;

/// <summary><c>/healthz</c>: the process answers. <c>/readyz</c>: the engine answers and the store and data root take writes.</summary>
public static class HealthEndpoints
{
    public sealed record Health(string Status);

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new Health("alive"))).WithTags("Health");
        app.MapGet("/readyz", Ready).WithTags("Health");
        return app;
    }

    internal static async Task<Results<Ok<Health>, ProblemHttpResult>> Ready(
        DockerEngine engine, IJobStore store, IOptions<BerthOptions> options, IOptions<SandboxOptions> sandbox, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        var problems = new List<string>();
        try
        {
            await engine.PingAsync(timeout.Token);
            if (!(await engine.RuntimesAsync(timeout.Token)).Contains(sandbox.Value.Runtime))
            {
                problems.Add($"the engine has no '{sandbox.Value.Runtime}' runtime (Sandbox:Runtime); register it in the daemon's \"runtimes\"");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || timeout.IsCancellationRequested)
        {
            problems.Add($"the Docker engine at {options.Value.DockerEndpoint} does not answer ({e.GetType().Name})");
        }
        try
        {
            await store.CheckWritableAsync(timeout.Token);
            var probe = Path.Combine(options.Value.DataRoot, ".ready-probe");
            await File.WriteAllTextAsync(probe, "ok", timeout.Token);
            File.Delete(probe);
        }
        catch (Exception e) when (e is not OperationCanceledException || timeout.IsCancellationRequested)
        {
            problems.Add($"the store or data root ({options.Value.DataRoot}) does not take writes ({e.GetType().Name}: {e.Message})");
        }
        return problems.Count == 0
            ? TypedResults.Ok(new Health("ready"))
            : TypedResults.Problem(string.Join("; ", problems), statusCode: 503, title: "Not ready");
    }
}
