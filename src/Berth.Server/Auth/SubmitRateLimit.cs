using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Berth.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Server.Auth;

/// <summary>
/// Submissions per owner (<c>Auth:SubmitsPerMinute</c>); over it the submission gets 429 with Retry-After. Checked
/// before the body is read.
/// </summary>
public interface ISubmitQuota
{
    /// <summary>Counts one submission of <paramref name="owner"/>; returns how long to wait when over the limit (nothing counted), else null.</summary>
    Task<TimeSpan?> TryAcquireAsync(string owner, CancellationToken cancellationToken);
}

/// <summary>One server (SQLite): a token bucket per owner in memory, the burst the same number as the rate.</summary>
public sealed class InMemorySubmitQuota(IOptions<AuthOptions> options) : ISubmitQuota, IDisposable
{
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _buckets = new(StringComparer.Ordinal);

    public Task<TimeSpan?> TryAcquireAsync(string owner, CancellationToken cancellationToken)
    {
        var perMinute = options.Value.SubmitsPerMinute;
        var bucket = _buckets.GetOrAdd(owner, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = perMinute,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        using var lease = bucket.AttemptAcquire();
        if (lease.IsAcquired)
        {
            return Task.FromResult<TimeSpan?>(null);
        }
        return Task.FromResult<TimeSpan?>(lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1));
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets.Values)
        {
            bucket.Dispose();
        }
    }
}
