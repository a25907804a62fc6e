using Berth.Server.IntegrationTests.Infrastructure;
using Microsoft.Playwright;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;
using static Microsoft.Playwright.Assertions;

namespace Berth.Server.IntegrationTests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium) on a server whose jobs really build, scan and run: a job
/// submitted through the API appears and finishes in the open jobs table, its page shows the live log and the real
/// scan findings, and the leaderboard ranks by performance. Screenshots go to the test output's screenshots folder.
/// </summary>
[Collection(BerthCollection.Name)]
public sealed class DashboardTests(BerthFixture fixture)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string SitePackages = "/usr/lib/python3/site-packages";

    private static readonly string Shots = Path.Combine(AppContext.BaseDirectory, "screenshots");

    [Fact]
    public async Task Dashboard_RealJobs_AppearFinishShowLogAndFindingsAndRank()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install -y chromium (./test.sh installs it)");
        Directory.CreateDirectory(Shots);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") { errors.Add($"{message.Text} ({message.Location})"); } };
        var baseUrl = fixture.Server.Client.BaseAddress!.ToString().TrimEnd('/');
        var suffix = Guid.NewGuid().ToString("N")[..6];

        // The table is open before the jobs exist: they must arrive through the live stream.
        await page.GotoAsync($"{baseUrl}/");
        var fast = await fixture.Api.SubmitAsync(Busybox("echo '{\"perf\": 9}' > /data/perf.json"), name: $"dash-b-{suffix}");
        var slow = await fixture.Api.SubmitAsync(Busybox("echo '{\"perf\": 5}' > /data/perf.json"), name: $"dash-a-{suffix}");
        var vulnerable = await fixture.Api.SubmitAsync(
            "FROM busybox:latest\n" +
            $"RUN mkdir -p {SitePackages}/urllib3-1.26.16.dist-info && printf 'Metadata-Version: 2.1\\nName: urllib3\\nVersion: 1.26.16\\n' > {SitePackages}/urllib3-1.26.16.dist-info/METADATA\n" +
            "CMD [\"sh\", \"-c\", \"echo '{\\\"perf\\\": 1}' > /data/perf.json\"]\n",
            name: $"dash-vuln-{suffix}");
        foreach (var (job, status) in new[] { (fast, "succeeded"), (slow, "succeeded"), (vulnerable, "failed") })
        {
            await Expect(page.Locator($"tr[data-id='{job.Id}']")).ToHaveAttributeAsync("data-status", status, new() { Timeout = 120_000 });
        }
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "jobs.png"), FullPage = true });

        // The job page of the vulnerable job: the real log and the real advisory, grouped under its severity.
        await page.Locator($"tr[data-id='{vulnerable.Id}'] td.name a").ClickAsync();
        await Expect(page.Locator("main h1")).ToHaveTextAsync($"dash-vuln-{suffix}");
        await Expect(page.Locator("#log")).ToContainTextAsync("==> build log <==");
        await Expect(page.Locator("#log")).ToContainTextAsync("urllib3-1.26.16.dist-info");
        var high = page.Locator("#scan .severity-group[data-severity='high']");
        await Expect(high).ToContainTextAsync("PYSEC-2023-192");
        await Expect(high).ToContainTextAsync("1.26.17");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "job.png"), FullPage = true });

        // The leaderboard: the better of the two names first.
        await page.GotoAsync($"{baseUrl}/leaderboard");
        var names = page.Locator("table.leaderboard tbody tr td.name");
        await Expect(names.Filter(new() { HasText = $"dash-b-{suffix}" })).ToHaveCountAsync(1);
        var order = (await names.AllTextContentsAsync()).Select(n => n.Trim()).ToList();
        Assert.True(order.FindIndex(n => n.StartsWith($"dash-b-{suffix}", StringComparison.Ordinal)) < order.FindIndex(n => n.StartsWith($"dash-a-{suffix}", StringComparison.Ordinal)), string.Join(", ", order));
        Assert.DoesNotContain(order, n => n.StartsWith($"dash-vuln-{suffix}", StringComparison.Ordinal));
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "leaderboard.png"), FullPage = true });

        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
