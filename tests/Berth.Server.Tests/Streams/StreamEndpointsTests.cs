using System.Net;
using System.Text;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Streams;
using Berth.Server.Tests.Api;
using Microsoft.Extensions.DependencyInjection;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.Tests.Streams;

/// <summary>
/// The live streams over HTTP on a real Kestrel and SQLite (no job runs: the tests move jobs along through the store
/// and write their logs the way the pipeline does).
/// </summary>
public sealed class StreamEndpointsTests : IClassFixture<StreamServer>, IDisposable
{
    private const string Dockerfile = "FROM busybox:latest\nBOGUS\n";

    private readonly StreamServer _server;
    private readonly HttpClient _client;
    private readonly JobDriver _driver;

    public StreamEndpointsTests(StreamServer server)
    {
        _server = server;
        _client = server.CreateClient();
        _driver = new JobDriver(server.Services);
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The streams earlier tests of this class left open, released (a closed stream is freed a little later).</summary>
    private async Task<JobChanges> QuietFeedAsync()
    {
        var feed = _server.Services.GetRequiredService<JobChanges>();
        Assert.True(await EventuallyAsync(() => feed.SubscriberCount == 0), $"{feed.SubscriberCount} streams of earlier tests are still open");
        return feed;
    }

    private Task<string> SubmitAsync() => new BerthApi(_client).SubmitTextAsync(Dockerfile).ContinueWith(t => t.Result.Id, TaskScheduler.Default);

    [Fact]
    public async Task Events_WhileAJobRuns_SendsEveryChangeInOrderThenEndAndCloses()
    {
        var id = await SubmitAsync();
        using var response = await _client.OpenAsync($"/api/v1/jobs/{id}/events");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        using var events = new EventReader(await response.Content.ReadAsStreamAsync());

        var first = await events.NextAsync();
        Assert.Equal(("job", "1", JobStatus.Queued), (first!.Event, first.Id, first.Job.Status));
        var steps = new[] { JobStatus.Linting, JobStatus.Building, JobStatus.Scanning, JobStatus.Running };
        for (var i = 0; i < steps.Length; i++)
        {
            await _driver.StageAsync(id, i, steps[i]);
            var next = await events.NextAsync();
            Assert.Equal(("job", (i + 2).ToString(System.Globalization.CultureInfo.InvariantCulture)), (next!.Event, next.Id));
            Assert.Equal(steps[i], next.Job.Status);
            Assert.Equal(StageStatus.Running, next.Job.Stages[i].Status);
            Assert.All(next.Job.Stages.Take(i), s => Assert.Equal(StageStatus.Succeeded, s.Status));
        }
        await _driver.FinishAsync(id);

        var last = await events.NextAsync();
        Assert.Equal((JobStatus.Succeeded, 42.5), (last!.Job.Status, last.Job.Performance));
        var end = await events.NextAsync();
        Assert.Equal(("end", "{}"), (end!.Event, end.Data));
        Assert.Null(await events.NextAsync()); // the server closed the stream
    }

    [Fact]
    public async Task Events_AlreadyTerminalJob_OneJobEventThenEnd()
    {
        var id = await SubmitAsync();
        using (var cancel = await _client.PostAsync(new Uri($"/api/v1/jobs/{id}/cancel", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        using var response = await _client.OpenAsync($"/api/v1/jobs/{id}/events");
        using var events = new EventReader(await response.Content.ReadAsStreamAsync());

        Assert.Equal(JobStatus.Canceled, (await events.NextAsync())!.Job.Status);
        var end = await events.NextAsync();
        Assert.Equal(("end", "{}"), (end!.Event, end.Data));
        Assert.Null(await events.NextAsync());
    }

    [Theory]
    [InlineData("/api/v1/jobs/{0}/events")]
    [InlineData("/api/v1/jobs/{0}/logs?follow=true")]
    public async Task Streams_UnknownJob_404ProblemBeforeAnyStream(string path)
    {
        var feed = await QuietFeedAsync();
        foreach (var id in new[] { "0123456789abcdef0123456789abcdef", "not-an-id" })
        {
            using var response = await _client.GetAsync(new Uri(string.Format(System.Globalization.CultureInfo.InvariantCulture, path, id), UriKind.Relative));
            var problem = await ProblemAsync(response, HttpStatusCode.NotFound);
            Assert.Contains(id, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(0, feed.SubscriberCount);
    }

    [Fact]
    public async Task LogsFollow_WhileAJobRuns_DeliversEachLineAsWrittenAndEndsWithTheJob()
    {
        var id = await SubmitAsync();
        await _driver.StageAsync(id, 1, JobStatus.Building);
        using var response = await _client.OpenAsync($"/api/v1/jobs/{id}/logs?follow=true");
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        await using var body = await response.Content.ReadAsStreamAsync();
        var received = new StringBuilder();
        await StreamRequests.ReadUntilAsync(body, received, "==> build log <==\n");

        using (var build = _driver.Log(id, JobFile.BuildLog))
        {
            for (var i = 0; i < 5; i++)
            {
                build.Write($"step {i}: building\n");
                await StreamRequests.ReadUntilAsync(body, received, $"step {i}: building\n"); // each line arrives while the job runs
            }
        }
        await _driver.StageAsync(id, 2, JobStatus.Scanning);
        await StreamRequests.ReadUntilAsync(body, received, "\n==> run log <==\n");
        await _driver.StageAsync(id, 3, JobStatus.Running);
        using (var run = _driver.Log(id, JobFile.RunLog))
        {
            for (var i = 0; i < 5; i++)
            {
                run.Write($"output {i}\n");
                await StreamRequests.ReadUntilAsync(body, received, $"output {i}\n");
            }
            run.Write("last words, no newline");
        }
        await _driver.FinishAsync(id);
        received.Append(await StreamRequests.ReadToEndAsync(body)); // ends because the job ended

        var whole = await new BerthApi(_client).LogsAsync(id);
        Assert.Equal(whole, received.ToString());
        Assert.EndsWith("output 4\nlast words, no newline", whole, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogsFollow_JobStartedOverByAnotherAttempt_MarksTheAttemptAndSendsItsLogFromTheStart()
    {
        var id = await SubmitAsync();
        var job = await _driver.StageAsync(id, 1, JobStatus.Building);
        await _driver.Store.SaveAsync(job with { Attempts = 1 }, default);
        using var response = await _client.OpenAsync($"/api/v1/jobs/{id}/logs?follow=true");
        await using var body = await response.Content.ReadAsStreamAsync();
        var received = new StringBuilder();
        using (var build = _driver.Log(id, JobFile.BuildLog))
        {
            build.Write("first attempt, lost halfway\n");
            await StreamRequests.ReadUntilAsync(body, received, "lost halfway\n");
        }

        using (var build = _driver.Log(id, JobFile.BuildLog)) // the attempt was lost; the next one writes its log from the start
        {
            build.Write("second\n");
        }
        await _driver.Store.SaveAsync((await _driver.GetAsync(id)) with { Attempts = 2 }, default); // queued again and claimed anew
        await _driver.FinishAsync(id);

        received.Append(await StreamRequests.ReadToEndAsync(body));
        Assert.Equal("==> build log <==\nfirst attempt, lost halfway\n\n==> attempt 2 <==\n==> build log <==\nsecond\n\n==> run log <==\n", received.ToString());
    }

    [Fact]
    public async Task LogsFollow_AlreadyTerminalJob_SendsTheWholeLogAndEnds()
    {
        var id = await SubmitAsync();
        await _driver.StageAsync(id, 1, JobStatus.Building);
        using (var build = _driver.Log(id, JobFile.BuildLog))
        {
            build.Write("built\n");
        }
        await _driver.FinishAsync(id, JobStatus.Failed);

        using var response = await _client.OpenAsync($"/api/v1/jobs/{id}/logs?follow=true");
        var text = await StreamRequests.ReadToEndAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal("==> build log <==\nbuilt\n\n==> run log <==\n", text);
        Assert.Equal(await new BerthApi(_client).LogsAsync(id), text);
    }

    [Fact]
    public async Task AllEvents_SubmissionsAndChanges_ArriveAsTheyHappen()
    {
        using var response = await _client.OpenAsync("/api/v1/events");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var events = new EventReader(await response.Content.ReadAsStreamAsync());

        var id = await SubmitAsync();
        var submitted = await NextOfAsync(events, id);
        Assert.Equal(JobStatus.Queued, submitted.Job.Status);
        await _driver.StageAsync(id, 0, JobStatus.Linting);
        Assert.Equal(JobStatus.Linting, (await NextOfAsync(events, id)).Job.Status);
        await _driver.FinishAsync(id, JobStatus.Failed);
        Assert.Equal(JobStatus.Failed, (await NextOfAsync(events, id)).Job.Status);
    }

    [Fact]
    public async Task Events_SlowReader_GetsLaterStatesInOrderAndTheFinalOne()
    {
        var id = await SubmitAsync();
        using var response = await _client.OpenAsync($"/api/v1/jobs/{id}/events");
        using var events = new EventReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal(JobStatus.Queued, (await events.NextAsync())!.Job.Status);

        // The client reads nothing while the job changes 1000 times (a long name makes each event about 5 KiB).
        var job = await _driver.StageAsync(id, 0, JobStatus.Linting);
        for (var i = 0; i < 1000; i++)
        {
            job = job with { Performance = i, Name = $"{i:D5}-" + new string('x', 4000) };
            await _driver.Store.SaveAsync(job, default);
        }
        await _driver.FinishAsync(id);

        var seen = new List<double>();
        ServerEvent? next;
        while ((next = await events.NextAsync()) is { Event: "job" })
        {
            if (next.Job.Status == JobStatus.Linting)
            {
                seen.Add(next.Job.Performance ?? -1); // the first linting state has none yet
            }
            else
            {
                Assert.Equal(JobStatus.Succeeded, next.Job.Status);
            }
        }
        Assert.Equal("end", next?.Event);
        Assert.Equal(seen.Order(), seen); // later states only, never an older one after a newer
        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Null(await events.NextAsync());
    }

    [Fact]
    public async Task Streams_ClientDisconnects_SubscriptionIsReleased()
    {
        var feed = await QuietFeedAsync();
        var id = await SubmitAsync();

        var responses = new[]
        {
            await _client.OpenAsync($"/api/v1/jobs/{id}/events"),
            await _client.OpenAsync($"/api/v1/jobs/{id}/logs?follow=true"),
            await _client.OpenAsync("/api/v1/events"),
        };
        Assert.Equal(3, feed.SubscriberCount);
        foreach (var response in responses)
        {
            response.Dispose(); // closes the connection mid-stream
        }

        Assert.True(await EventuallyAsync(() => feed.SubscriberCount == 0), $"{feed.SubscriberCount} subscriptions are still open");
    }

    [Fact]
    public async Task Streams_WithKeys_AnotherOwnersJobIs404AndNotInTheirEvents()
    {
        await using var server = new BerthApiFactory(TestKeys.Settings());
        using var alice = TestKeys.As(server, "alice-key");
        using var bob = TestKeys.As(server, "bob-key");
        using var anonymous = server.CreateClient();

        using var bobAll = await bob.OpenAsync("/api/v1/events");
        using var bobEvents = new EventReader(await bobAll.Content.ReadAsStreamAsync());
        using var aliceAll = await alice.OpenAsync("/api/v1/events");
        using var aliceEvents = new EventReader(await aliceAll.Content.ReadAsStreamAsync());
        var alices = (await new BerthApi(alice).SubmitTextAsync(Dockerfile)).Id;

        foreach (var path in new[] { $"/api/v1/jobs/{alices}/events", $"/api/v1/jobs/{alices}/logs?follow=true" })
        {
            using var refused = await bob.GetAsync(new Uri(path, UriKind.Relative));
            await ProblemAsync(refused, HttpStatusCode.NotFound);
            using var unauthenticated = await anonymous.GetAsync(new Uri(path, UriKind.Relative));
            await ProblemAsync(unauthenticated, HttpStatusCode.Unauthorized);
        }
        using (var unauthenticated = await anonymous.GetAsync(new Uri("/api/v1/events", UriKind.Relative)))
        {
            await ProblemAsync(unauthenticated, HttpStatusCode.Unauthorized);
        }
        Assert.Equal(alices, (await NextOfAsync(aliceEvents, alices)).Job.Id);
        var bobs = (await new BerthApi(bob).SubmitTextAsync(Dockerfile)).Id;
        var bobFirst = await bobEvents.NextAsync();
        Assert.Equal(bobs, bobFirst!.Job.Id); // alice's submission, made before, never reached bob
        using var own = await alice.OpenAsync($"/api/v1/jobs/{alices}/events");
        using var ownEvents = new EventReader(await own.Content.ReadAsStreamAsync());
        Assert.Equal(alices, (await ownEvents.NextAsync())!.Job.Id);
    }

    [Fact]
    public async Task Streams_OwnerAtMaxStreamsPerOwner_Is429WithRetryAfterOnEveryStreamRouteUntilOneCloses()
    {
        await using var server = new BerthApiFactory(TestKeys.Settings(new Dictionary<string, string> { ["Limits:MaxStreamsPerOwner"] = "2" }));
        using var alice = TestKeys.As(server, "alice-key");
        using var bob = TestKeys.As(server, "bob-key");
        var id = (await new BerthApi(alice).SubmitTextAsync(Dockerfile)).Id;

        var first = await alice.OpenAsync("/api/v1/events");
        using var second = await alice.OpenAsync($"/api/v1/jobs/{id}/events");
        foreach (var path in new[] { "/api/v1/events", $"/api/v1/jobs/{id}/events", $"/api/v1/jobs/{id}/logs?follow=true" })
        {
            using var refused = await alice.GetAsync(new Uri(path, UriKind.Relative));
            var problem = await ProblemAsync(refused, HttpStatusCode.TooManyRequests);
            Assert.Contains("Limits:MaxStreamsPerOwner", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.NotNull(refused.Headers.RetryAfter);
        }
        using (await bob.OpenAsync("/api/v1/events")) // another owner's count is its own
        {
        }

        first.Dispose(); // the client goes away: the server notices and frees the stream
        var reopened = false;
        for (var i = 0; i < 100 && !reopened; i++)
        {
            using var again = await alice.GetAsync(new Uri("/api/v1/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
            reopened = again.StatusCode == HttpStatusCode.OK;
            await Task.Delay(reopened ? 0 : 100);
        }
        Assert.True(reopened, "the stream closed by its client was never freed");
    }

    /// <summary>The next event about job <paramref name="id"/> (others' events are skipped: other tests share the server).</summary>
    private static async Task<ServerEvent> NextOfAsync(EventReader events, string id)
    {
        while (await events.NextAsync() is { } next)
        {
            Assert.Equal("job", next.Event);
            if (next.Job.Id == id)
            {
                return next;
            }
        }
        throw new InvalidOperationException("the stream ended");
    }
}
