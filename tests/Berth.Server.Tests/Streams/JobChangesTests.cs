using Berth.Server.Configuration;
using Berth.Server.Errors;
using Berth.Server.Streams;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Server.Tests.Streams;

public sealed class JobChangesTests
{
    [Fact]
    public void Subscribe_OwnerAtMaxStreamsPerOwner_IsRefusedUntilOneCloses()
    {
        var feed = new JobChanges(new FakeTimeProvider(), Options.Create(new LimitsOptions { MaxStreamsPerOwner = 2 }));
        using var first = feed.Subscribe(null, logs: false, "alice");
        var second = feed.Subscribe("0123456789abcdef0123456789abcdef", logs: true, "alice");

        var refused = Assert.Throws<RequestRejectedException>(() => feed.Subscribe(null, logs: false, "alice"));
        using var bobs = feed.Subscribe(null, logs: false, "bob");
        using var servers = feed.Subscribe(); // the server's own (no owner): never counted

        Assert.Equal(Rejection.TooManyRequests, refused.Kind);
        Assert.Contains("Limits:MaxStreamsPerOwner", refused.Message, StringComparison.Ordinal);
        Assert.Equal(4, feed.SubscriberCount);
        second.Dispose();
        second.Dispose(); // twice: counted once
        using var again = feed.Subscribe(null, logs: false, "alice");
        Assert.Throws<RequestRejectedException>(() => feed.Subscribe(null, logs: false, "alice"));
    }

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task WaitAsync_ChangesPublished_TakesEachIdOnceAndClears()
    {
        var feed = new JobChanges(_time);
        using var all = feed.Subscribe();
        using var one = feed.Subscribe("a");

        feed.Publish("a");
        feed.Publish("b");
        feed.Publish("a");

        var taken = await all.WaitAsync(TimeSpan.Zero, default);
        Assert.Equal(["a", "b"], taken.JobIds.Order());
        Assert.False(taken.Everything);
        Assert.Equal(["a"], (await one.WaitAsync(TimeSpan.Zero, default)).JobIds);
        Assert.True((await all.WaitAsync(TimeSpan.Zero, default)).IsEmpty);
    }

    [Fact]
    public async Task WaitAsync_NothingYet_WaitsForAPublish()
    {
        var feed = new JobChanges(_time);
        using var one = feed.Subscribe("a");

        var waiting = one.WaitAsync(Timeout.InfiniteTimeSpan, default);
        feed.Publish("b");
        Assert.False(waiting.IsCompleted);
        feed.Publish("a");

        Assert.Equal(["a"], (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).JobIds);
    }

    [Fact]
    public async Task WaitAsync_TimeoutPasses_ReturnsNone()
    {
        var feed = new JobChanges(_time);
        using var all = feed.Subscribe();

        var waiting = all.WaitAsync(TimeSpan.FromSeconds(15), default);
        _time.Advance(TimeSpan.FromSeconds(14));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True((await waiting.WaitAsync(TimeSpan.FromSeconds(10))).IsEmpty);
    }

    [Fact]
    public async Task Publish_MoreIdsThanCapacity_PendingStaysBoundedAndSaysEverything()
    {
        var feed = new JobChanges(_time);
        using var all = feed.Subscribe();

        for (var i = 0; i < 10 * JobChanges.Capacity; i++)
        {
            feed.Publish($"job{i}");
            Assert.InRange(all.PendingCount, 0, JobChanges.Capacity);
        }

        var taken = await all.WaitAsync(TimeSpan.Zero, default);
        Assert.True(taken.Everything);
        Assert.Empty(taken.JobIds);
        Assert.Equal(0, all.PendingCount);
    }

    [Fact]
    public async Task PublishLog_OnlyLogSubscriptionsOfThatJobHearIt()
    {
        var feed = new JobChanges(_time);
        using var all = feed.Subscribe();
        using var events = feed.Subscribe("a");
        using var logs = feed.Subscribe("a", logs: true);

        feed.PublishLog("a");

        Assert.True((await all.WaitAsync(TimeSpan.Zero, default)).IsEmpty);
        Assert.True((await events.WaitAsync(TimeSpan.Zero, default)).IsEmpty);
        Assert.Equal(["a"], (await logs.WaitAsync(TimeSpan.Zero, default)).JobIds);
    }

    [Fact]
    public async Task PublishAll_EverySubscriptionRereads()
    {
        var feed = new JobChanges(_time);
        using var one = feed.Subscribe("a");

        feed.PublishAll();

        Assert.True((await one.WaitAsync(TimeSpan.Zero, default)).Everything);
    }

    [Fact]
    public void Dispose_RemovesTheSubscription()
    {
        var feed = new JobChanges(_time);
        var one = feed.Subscribe("a");
        Assert.Equal(1, feed.SubscriberCount);

        one.Dispose();

        Assert.Equal(0, feed.SubscriberCount);
    }
}
