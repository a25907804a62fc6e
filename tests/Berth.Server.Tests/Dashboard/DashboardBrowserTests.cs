using System.Text.Json;
using Berth.Server.Api;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Tests.Api;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Berth.Server.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium through Playwright) against Berth in this process (real Kestrel and
/// SQLite, no engine): jobs are submitted through the API and their progress is written through the store and the job's
/// files. Screenshots go to <c>screenshots/</c> in the test output.
/// </summary>
public sealed class DashboardBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const string Dockerfile = "FROM busybox:latest\nCMD [\"sh\"]\n";

    private static readonly string Screenshots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    private static string BaseUrl(BerthApiFactory server)
    {
        using var client = server.CreateClient(); // starts the server
        return server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    }

    private async Task<(IPage Page, List<string> Console)> NewPageAsync()
    {
        var context = await browser.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 860 } });
        var page = await context.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, message) => console.Add($"{message.Type}: {message.Text}");
        return (page, console);
    }

    private static Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, name), FullPage = true });

    /// <summary>No Content-Security-Policy violation and no script error while the page ran.</summary>
    private static void AssertNoScriptErrors(List<string> console) =>
        Assert.DoesNotContain(console, m => m.Contains("Content Security Policy", StringComparison.Ordinal) || m.Contains("Uncaught", StringComparison.Ordinal));

    [Fact]
    public async Task JobsTable_SubmittedJobRuns_RowFollowsItAndJobPageShowsLogLintAndFindings()
    {
        await using var server = new BerthApiFactory();
        var url = BaseUrl(server);
        using var http = server.CreateClient();
        var api = new BerthApi(http);
        var driver = new JobDriver(server);
        var (page, console) = await NewPageAsync();
        var jobs = new JobsPage(page, url);
        await jobs.OpenAsync();

        var earlier = await api.SubmitAsync(Dockerfile, name: "warm-up");
        await driver.SucceedAsync(earlier.Id, 3.25);
        var broken = await api.SubmitAsync(Dockerfile, name: "broken-build");
        await driver.FailBuildAsync(broken.Id, "The command '/bin/sh -c make' returned a non-zero code: 2");
        var hostile = await api.SubmitAsync(Dockerfile, name: "<img src=x onerror=alert(1)>");
        var job = await api.SubmitAsync(Dockerfile, name: "matmul");
        await jobs.ExpectStatusAsync(job.Id, "queued");
        await driver.StartBuildAsync(job.Id);
        await jobs.ExpectStatusAsync(job.Id, "building");
        await driver.SucceedAsync(job.Id, 42.5, withFindings: true);
        await jobs.ExpectStatusAsync(job.Id, "succeeded");

        await Expect(jobs.Row(job.Id).Locator("td").Nth(3)).ToHaveTextAsync("42.5");
        await Expect(jobs.Row(hostile.Id).Locator("td.name")).ToHaveTextAsync("<img src=x onerror=alert(1)>");
        Assert.Equal(0, await page.Locator("main img").CountAsync()); // names are text, never markup
        Assert.Equal([job.Id, hostile.Id, broken.Id, earlier.Id], await page.Locator("table.jobs tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.id)"));
        await ShotAsync(page, "jobs.png");

        await jobs.FilterAsync("queued");
        await jobs.ExpectStatusAsync(hostile.Id, "queued");
        await Expect(page.Locator("table.jobs tbody tr[data-id]")).ToHaveCountAsync(1);
        await jobs.FilterAsync("all");

        await jobs.OpenJobAsync(job.Id);
        var jobPage = new JobPage(page, url);
        await Expect(jobPage.Title).ToHaveTextAsync("matmul");
        await Expect(jobPage.Status).ToHaveTextAsync("succeeded");
        await Expect(jobPage.Log).ToContainTextAsync(JobDriver.BuildLine);
        await Expect(jobPage.Log).ToContainTextAsync(JobDriver.RunLine); // the <script> in the log is text
        await Expect(jobPage.Stage("build")).ToHaveAttributeAsync("data-status", "succeeded");
        await Expect(jobPage.Lint).ToContainTextAsync("unpinned-base-image");
        await Expect(jobPage.SeverityGroup("critical")).ToContainTextAsync(JobDriver.Critical.AdvisoryId);
        await Expect(jobPage.SeverityGroup("critical")).ToContainTextAsync(JobDriver.Critical.FixedVersion!);
        await Expect(jobPage.SeverityGroup("medium")).ToContainTextAsync(JobDriver.Medium.AdvisoryId);
        Assert.Equal(0, await page.Locator("#scan b:text('issue')").CountAsync()); // the summary's <b> is text
        await Expect(jobPage.CancelButton).ToBeDisabledAsync();
        await ShotAsync(page, "job.png");

        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#sbom").ClickAsync());
        Assert.Equal($"berth-{job.Id}.cdx.json", download.SuggestedFilename);
        Assert.Contains("CycloneDX", await File.ReadAllTextAsync(await download.PathAsync()), StringComparison.Ordinal);
        AssertNoScriptErrors(console);
    }

    [Fact]
    public async Task EventStreams_ServerStreamsEvents_PagesShowTheStreamedStateAndSayLive()
    {
        // The streams routes are stubbed in the browser, so the pages' reading of them is tested on its own: the
        // store keeps saying "queued" while the stream says otherwise.
        await using var server = new BerthApiFactory();
        var url = BaseUrl(server);
        using var http = server.CreateClient();
        var api = new BerthApi(http);
        var job = await api.SubmitAsync(Dockerfile, name: "streamed");
        static string Event(JobView view) => $"event: job\nid: 7\ndata: {JsonSerializer.Serialize(view, JobJson.Options)}\n\n";
        var (page, console) = await NewPageAsync();
        await page.RouteAsync($"{url}/api/v1/events", route => route.FulfillAsync(new()
        {
            Status = 200, ContentType = "text/event-stream",
            Body = ": keep-alive\n\n" + Event(job with { Status = JobStatus.Running }),
        }));
        await page.RouteAsync($"{url}/api/v1/jobs/{job.Id}/events", route => route.FulfillAsync(new()
        {
            Status = 200, ContentType = "text/event-stream",
            Body = Event(job with { Status = JobStatus.Building }) + Event(job with { Status = JobStatus.Succeeded, Performance = 7 }) + "event: end\ndata: {}\n\n",
        }));
        var jobs = new JobsPage(page, url);

        await jobs.OpenAsync();
        await jobs.ExpectStatusAsync(job.Id, "running");

        var jobPage = new JobPage(page, url);
        await jobPage.OpenAsync(job.Id);
        await Expect(jobPage.Status).ToHaveTextAsync("succeeded");
        await Expect(page.Locator("#live")).ToHaveTextAsync("idle"); // the job stream ended: no reconnect, no polling
        Assert.Equal(JobStatus.Queued, (await api.GetAsync(job.Id)).Status);
        AssertNoScriptErrors(console);
    }

    [Fact]
    public async Task JobsTable_JobSubmittedWhileTheListIsRead_RowStaysWhenTheOlderListArrives()
    {
        // Once the events stream opens the table reads the list again. Here that read is answered with a list taken
        // before a job was submitted, and held until the stream has shown the job: the row must survive the older list.
        await using var server = new BerthApiFactory();
        var url = BaseUrl(server);
        using var http = server.CreateClient();
        var api = new BerthApi(http);
        var first = await api.SubmitAsync(Dockerfile, name: "first");
        var (page, console) = await NewPageAsync();
        var jobs = new JobsPage(page, url);
        var lists = 0;
        JobView? late = null;
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync(new System.Text.RegularExpressions.Regex(@"/api/v1/jobs\?"), async route =>
        {
            if (Interlocked.Increment(ref lists) != 2)
            {
                await route.ContinueAsync();
                return;
            }
            var older = await route.FetchAsync(); // the list without the job submitted next
            late = await api.SubmitAsync(Dockerfile, name: "late");
            await jobs.ExpectStatusAsync(late.Id, "queued"); // streamed while the list is held
            await page.EvaluateAsync("() => document.querySelector('table.jobs tbody tr').dataset.before = 'yes'");
            await route.FulfillAsync(new() { Response = older });
            held.SetResult();
        });

        await jobs.OpenAsync();
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await Expect(page.Locator("tr[data-before]")).ToHaveCountAsync(0); // the held list was shown (rows rebuilt)
        Assert.NotNull(late);
        await jobs.ExpectStatusAsync(late.Id, "queued");
        await jobs.ExpectStatusAsync(first.Id, "queued");
        Assert.Equal([late.Id, first.Id], await page.Locator("table.jobs tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.id)"));
        AssertNoScriptErrors(console);
    }

    [Fact]
    public async Task Leaderboard_JobSucceedsWhileTheBoardIsRead_BoardIsReadAgain()
    {
        await using var server = new BerthApiFactory();
        var url = BaseUrl(server);
        using var http = server.CreateClient();
        var api = new BerthApi(http);
        var driver = new JobDriver(server);
        await driver.SucceedAsync((await api.SubmitAsync(Dockerfile, name: "early")).Id, 1);
        var (page, console) = await NewPageAsync();
        var board = new LeaderboardPage(page, url);
        var reads = 0;
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync($"{url}/api/v1/leaderboard", async route =>
        {
            if (Interlocked.Increment(ref reads) != 2)
            {
                await route.ContinueAsync();
                return;
            }
            var older = await route.FetchAsync(); // read once the stream is open, before the success below
            var job = await api.SubmitAsync(Dockerfile, name: "winner");
            await driver.SucceedAsync(job.Id, 9);
            await Task.Delay(500); // the success's event reaches the page while this read is held
            await route.FulfillAsync(new() { Response = older });
            held.SetResult();
        });

        await board.OpenAsync();
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await Expect(board.Rows).ToHaveCountAsync(2);
        Assert.Equal(["winner", "early"], await board.NamesAsync());
        Assert.True(reads >= 3, $"the board was read {reads} time(s)");
        AssertNoScriptErrors(console);
    }

    [Fact]
    public async Task Leaderboard_SucceededJobs_BestNameFirstAndOneSeriesPerName()
    {
        await using var server = new BerthApiFactory();
        var url = BaseUrl(server);
        using var http = server.CreateClient();
        var api = new BerthApi(http);
        var driver = new JobDriver(server);
        foreach (var (name, perf) in new (string?, double)[] { ("gamma", 5), ("alpha", 10), ("gamma", 20), ("alpha", 30), ("beta", 50), ("gamma", 15), (null, 99), ("alpha", 24) })
        {
            var job = await api.SubmitAsync(Dockerfile, name: name);
            await driver.SucceedAsync(job.Id, perf);
        }
        await api.SubmitAsync(Dockerfile, name: "still-queued");
        var (page, console) = await NewPageAsync();
        var board = new LeaderboardPage(page, url);

        await board.OpenAsync();

        await Expect(board.Rows).ToHaveCountAsync(3);
        Assert.Equal(["beta", "alpha", "gamma"], await board.NamesAsync());
        await Expect(board.Rows.Nth(1).Locator("td.best")).ToHaveTextAsync("30");
        await Expect(board.Series).ToHaveCountAsync(3);
        await Expect(page.Locator("#chart g.series[data-name='gamma'] circle")).ToHaveCountAsync(3);
        await ShotAsync(page, "leaderboard.png");
        AssertNoScriptErrors(console);
    }

    [Fact]
    public async Task JobPage_CancelQueuedJobThenDelete_JobCanceledThenGone()
    {
        await using var server = new BerthApiFactory();
        var url = BaseUrl(server);
        using var http = server.CreateClient();
        var api = new BerthApi(http);
        var job = await api.SubmitAsync(Dockerfile, name: "to-cancel");
        var (page, console) = await NewPageAsync();
        var jobPage = new JobPage(page, url);
        await jobPage.OpenAsync(job.Id);
        await Expect(jobPage.Status).ToHaveTextAsync("queued");

        await jobPage.CancelAsync(); // a same-origin POST: the browser guard lets it through

        await Expect(jobPage.Status).ToHaveTextAsync("canceled");
        Assert.Equal(JobStatus.Canceled, (await api.GetAsync(job.Id)).Status);
        await jobPage.DeleteAsync();
        await Expect(page.Locator("#notice")).ToBeHiddenAsync();
        await Expect(page).ToHaveURLAsync($"{url}/");
        using var gone = await http.GetAsync(new Uri($"/api/v1/jobs/{job.Id}", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
        AssertNoScriptErrors(console);
    }

    [Fact]
    public async Task JobPage_CancelAnswerArrivesAfterTheStreamShowedTheEnd_PageStaysCanceled()
    {
        // A running job's cancel answers with the job as it was; here that answer is held until the events stream has
        // shown the job canceled and ended, so it arrives last and must not bring "building" back.
        await using var server = new BerthApiFactory();
        var url = BaseUrl(server);
        using var http = server.CreateClient();
        var api = new BerthApi(http);
        var driver = new JobDriver(server);
        var job = await api.SubmitAsync(Dockerfile, name: "cancel-race");
        await driver.StartBuildAsync(job.Id);
        var (page, console) = await NewPageAsync();
        var jobPage = new JobPage(page, url);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync($"{url}/api/v1/jobs/{job.Id}/cancel", async route =>
        {
            var building = await api.GetAsync(job.Id); // the answer a running job's cancel gives: its state before
            await driver.CancelBuildAsync(job.Id);
            await Expect(jobPage.Status).ToHaveTextAsync("canceled"); // streamed first
            await route.FulfillAsync(new() { Status = 202, ContentType = "application/json", Body = JsonSerializer.Serialize(building, JobJson.Options) });
            held.SetResult();
        });
        await jobPage.OpenAsync(job.Id);
        await Expect(jobPage.Status).ToHaveTextAsync("building");
        await Expect(page.Locator("#live")).ToHaveTextAsync("live");

        await jobPage.CancelAsync();
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await page.EvaluateAsync("() => new Promise(r => setTimeout(r, 300))"); // time for the page to handle the held answer
        await Expect(jobPage.Status).ToHaveTextAsync("canceled");
        Assert.Equal(JobStatus.Canceled, (await api.GetAsync(job.Id)).Status);
        AssertNoScriptErrors(console);
    }

    [Fact]
    public async Task Keys_PageAsksForTheKey_ThenShowsAndCancelsTheOwnersJobs()
    {
        await using var server = new BerthApiFactory(TestKeys.Settings());
        var url = BaseUrl(server);
        using var alice = TestKeys.As(server, "alice-key");
        using var bob = TestKeys.As(server, "bob-key");
        var mine = await new BerthApi(alice).SubmitAsync(Dockerfile, name: "alice-job");
        var theirs = await new BerthApi(bob).SubmitAsync(Dockerfile, name: "bob-job");
        var (page, console) = await NewPageAsync();
        var jobs = new JobsPage(page, url);
        var key = new KeyDialog(page);

        await jobs.OpenAsync();
        await Expect(key.Dialog).ToBeVisibleAsync();
        await ShotAsync(page, "key-dialog.png");
        await key.CancelAsync();
        await Expect(page.Locator("#notice")).ToContainTextAsync("API key button"); // closed: not asked again and again
        await Expect(key.Dialog).ToBeHiddenAsync();
        await key.OpenFromHeaderAsync();
        await key.EnterAsync("alice-key");

        await jobs.ExpectStatusAsync(mine.Id, "queued");
        await Expect(jobs.Row(theirs.Id)).ToHaveCountAsync(0);
        Assert.Equal("alice-key", await page.EvaluateAsync<string>("() => sessionStorage.getItem('berth.apiKey')"));
        await jobs.OpenJobAsync(mine.Id);
        var jobPage = new JobPage(page, url);
        await jobPage.CancelAsync();
        await Expect(jobPage.Status).ToHaveTextAsync("canceled");
        await Expect(key.Dialog).ToBeHiddenAsync(); // asked once: every later call sent the kept key
        Assert.Equal(JobStatus.Canceled, (await new BerthApi(alice).GetAsync(mine.Id)).Status);
        AssertNoScriptErrors(console);
    }
}
