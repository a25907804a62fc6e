using Berth.Server.Jobs;

namespace Berth.Server.Dashboard;

/// <summary>One succeeded submission on the leaderboard.</summary>
public sealed record LeaderboardEntry(string Id, double Performance, DateTimeOffset FinishedAt);

/// <summary>
/// Every succeeded job of one <see cref="Name"/>: the best (highest performance, the earliest to reach it on a tie),
/// how many there were, and the most recent <see cref="Leaderboard.MaxHistory"/> of them, oldest first.
/// </summary>
public sealed record LeaderboardItem(string Name, LeaderboardEntry Best, int Submissions, IReadOnlyList<LeaderboardEntry> History);

/// <summary>
/// The body of <c>GET /api/v1/leaderboard</c>: names, best first. <see cref="Scanned"/> is how many succeeded jobs were read
/// (at most <see cref="MaxScanned"/>, the most recent).
/// </summary>
public sealed record Leaderboard(IReadOnlyList<LeaderboardItem> Items, int Scanned)
{
    /// <summary>The most recent succeeded jobs a leaderboard is built from; older ones are not read.</summary>
    public const int MaxScanned = 5000;

    /// <summary>The most recent submissions kept in each name's history (for the chart).</summary>
    public const int MaxHistory = 200;

    /// <summary>
    /// Groups succeeded jobs by name. Jobs without a name (or a blank one), without a performance, or not succeeded
    /// are left out; <see cref="Scanned"/> still counts them.
    /// </summary>
    public static Leaderboard Build(IReadOnlyCollection<Job> jobs)
    {
        var items = jobs
            .Where(j => j.Status == JobStatus.Succeeded && !string.IsNullOrWhiteSpace(j.Name) && j.Performance is { } p && double.IsFinite(p))
            .Select(j => (Name: j.Name!, Entry: new LeaderboardEntry(j.Id, j.Performance!.Value, j.FinishedAt ?? j.CreatedAt), j.Sequence))
            .GroupBy(j => j.Name, StringComparer.Ordinal)
            .Select(group =>
            {
                var oldestFirst = group.OrderBy(j => j.Entry.FinishedAt).ThenBy(j => j.Sequence).Select(j => j.Entry).ToList();
                var best = oldestFirst.MaxBy(e => e.Performance)!; // MaxBy keeps the first of equals: the earliest
                return new LeaderboardItem(group.Key, best, oldestFirst.Count, oldestFirst.TakeLast(MaxHistory).ToList());
            })
            .OrderByDescending(i => i.Best.Performance)
            .ThenBy(i => i.Best.FinishedAt)
            .ThenBy(i => i.Name, StringComparer.Ordinal)
            .ToList();
        return new Leaderboard(items, jobs.Count);
    }
}
