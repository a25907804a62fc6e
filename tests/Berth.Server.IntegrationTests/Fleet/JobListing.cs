using System.Net.Http.Json;
using Berth.Server.Api;
using Berth.Server.Jobs;

namespace Berth.Server.IntegrationTests.Fleet;

/// <summary>Every job a client sees in <c>GET /api/v1/jobs</c>, page after page (newest first).</summary>
internal static class JobListing
{
    public static async Task<IReadOnlyList<JobView>> ListAllAsync(HttpClient client)
    {
        var jobs = new List<JobView>();
        string? after = null;
        do
        {
            var page = await client.GetFromJsonAsync<JobPage>(
                new Uri($"/api/v1/jobs?limit=100{(after is null ? "" : $"&after={after}")}", UriKind.Relative), JobJson.Options);
            jobs.AddRange(page!.Items);
            after = page.Next;
        }
        while (after is not null);
        return jobs;
    }
}
