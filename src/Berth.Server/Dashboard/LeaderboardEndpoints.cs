using Berth.Server.Auth;
using Berth.Server.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Berth.Server.Dashboard;

/// <summary><c>GET /api/v1/leaderboard</c>: the caller's succeeded jobs (every owner's for an admin), grouped by name.</summary>
public static class LeaderboardEndpoints
{
    private const int PageSize = 500;

    public static IEndpointRouteBuilder MapLeaderboardEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/leaderboard", Get)
            .WithTags("Leaderboard")
            .WithSummary("Succeeded jobs with a name, grouped by name, best performance first")
            .WithDescription($"Built from the {Leaderboard.MaxScanned} most recent succeeded jobs the caller may see (their own; every owner's for an admin); " +
                $"'scanned' says how many were read. Each name has its best submission, its number of submissions and the {Leaderboard.MaxHistory} most recent, oldest first. " +
                "Jobs without a name or a performance are left out.")
            .RequireAuthorization();
        return app;
    }

    internal static async Task<Ok<Leaderboard>> Get(HttpContext http, IJobStore store, CancellationToken cancellationToken)
    {
        var caller = Caller.From(http);
        var owner = caller.IsAdmin ? null : caller.Owner;
        var jobs = new List<Job>();
        string? after = null;
        while (jobs.Count < Leaderboard.MaxScanned)
        {
            var want = Math.Min(PageSize, Leaderboard.MaxScanned - jobs.Count);
            var page = await store.ListAsync(owner, JobStatus.Succeeded, want, after, cancellationToken);
            jobs.AddRange(page);
            if (page.Count < want)
            {
                break;
            }
            after = page[^1].Id;
        }
        return TypedResults.Ok(Leaderboard.Build(jobs));
    }
}
