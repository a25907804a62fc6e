using Berth.Server.Fleet;

namespace Berth.Server.Tests.Fleet;

public sealed class AgentEndpointsTests
{
    [Theory]
    [InlineData(20, 30, 30, 10)] // the defaults: the agent's 20 s, capped at a third of a 30 s lease
    [InlineData(20, 30, 6, 2)] // a short lease: a job claimed after a 20 s wait would arrive with its lease run out
    [InlineData(20, 30, 90, 20)] // a long lease: what the agent asked
    [InlineData(20, 5, 90, 5)] // Fleet:MaxClaimWaitSeconds
    [InlineData(0, 30, 30, 0)] // no wait
    public void ClaimWait_RequestedMaxAndLease_IsTheShortestOfTheRequestTheMaximumAndAThirdOfTheLease(int requested, int max, int lease, double expectedSeconds)
    {
        var options = new FleetOptions { MaxClaimWaitSeconds = max, LeaseSeconds = lease };

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), AgentEndpoints.ClaimWait(requested, options));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(30)]
    [InlineData(3600)]
    public void ClaimWait_AnyLease_LeavesTwoThirdsOfTheLeaseAfterTheLongestWait(int lease)
    {
        var options = new FleetOptions { LeaseSeconds = lease };

        var left = TimeSpan.FromSeconds(lease) - AgentEndpoints.ClaimWait(30, options);

        Assert.True(left >= TimeSpan.FromSeconds(lease) * 2 / 3, $"{left} left of a {lease} s lease");
    }
}
