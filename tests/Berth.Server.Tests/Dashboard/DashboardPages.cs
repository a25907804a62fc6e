using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Berth.Server.Tests.Dashboard;

/// <summary>Chromium (Debian's, never a downloaded one) for the dashboard tests, launched once per test class.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install -y chromium (./test.sh installs it)");
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        SetDefaultExpectTimeout(20_000);
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
    }
}

/// <summary>The jobs table at <c>/</c>.</summary>
internal sealed class JobsPage(IPage page, string baseUrl)
{
    public Task OpenAsync() => page.GotoAsync($"{baseUrl}/");

    public ILocator Row(string id) => page.Locator($"tr[data-id='{id}']");

    public Task ExpectStatusAsync(string id, string status) => Expect(Row(id)).ToHaveAttributeAsync("data-status", status);

    public Task FilterAsync(string status) => page.Locator($".chip[data-status='{status}']").ClickAsync();

    public Task OpenJobAsync(string id) => Row(id).Locator("td.name a").ClickAsync();
}

/// <summary>One job at <c>/jobs/{id}</c>.</summary>
internal sealed class JobPage(IPage page, string baseUrl)
{
    public Task OpenAsync(string id) => page.GotoAsync($"{baseUrl}/jobs/{id}");

    public ILocator Title => page.Locator("main h1");

    public ILocator Status => page.Locator(".page-head .badge");

    public ILocator Log => page.Locator("#log");

    public ILocator Stage(string name) => page.Locator($"#stages .stage[data-stage='{name}']");

    public ILocator Lint => page.Locator("#lint");

    public ILocator SeverityGroup(string severity) => page.Locator($"#scan .severity-group[data-severity='{severity}']");

    public ILocator CancelButton => page.Locator("#cancel");

    public Task CancelAsync() => CancelButton.ClickAsync();

    /// <summary>Delete asks for a second click.</summary>
    public async Task DeleteAsync()
    {
        await page.Locator("#delete").ClickAsync();
        await Expect(page.Locator("#delete")).ToHaveTextAsync("Delete for good?");
        await page.Locator("#delete").ClickAsync();
    }
}

/// <summary>The leaderboard at <c>/leaderboard</c>.</summary>
internal sealed class LeaderboardPage(IPage page, string baseUrl)
{
    public Task OpenAsync() => page.GotoAsync($"{baseUrl}/leaderboard");

    public ILocator Rows => page.Locator("table.leaderboard tbody tr[data-name]");

    public ILocator Series => page.Locator("#chart svg g.series");

    public async Task<IReadOnlyList<string>> NamesAsync() => await page.Locator("table.leaderboard tbody tr td.name").AllTextContentsAsync();
}

/// <summary>The API key dialog a 401 opens.</summary>
internal sealed class KeyDialog(IPage page)
{
    public ILocator Dialog => page.Locator("#key-dialog");

    public Task CancelAsync() => page.Locator("#key-cancel").ClickAsync();

    public Task OpenFromHeaderAsync() => page.Locator("#key-button").ClickAsync();

    public async Task EnterAsync(string key)
    {
        await page.Locator("#key-input").FillAsync(key);
        await page.Locator("#key-save").ClickAsync();
    }
}
