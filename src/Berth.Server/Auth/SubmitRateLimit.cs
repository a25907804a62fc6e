using System.Globalization;
using System.Threading.RateLimiting;
using Berth.Server.Configuration;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Berth.Server.Auth;

/// <summary>Submissions per owner: a token bucket of <c>Auth:SubmitsPerMinute</c>; over it → 429 with Retry-After.</summary>
public static class SubmitRateLimit
{
    public const string Policy = "submit";

    public static IServiceCollection AddSubmitRateLimit(this IServiceCollection services) =>
        services.AddRateLimiter(options =>
        {
            options.AddPolicy(Policy, context =>
            {
                var perMinute = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.SubmitsPerMinute;
                return RateLimitPartition.GetTokenBucketLimiter(Caller.From(context).Owner, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = perMinute,
                    TokensPerPeriod = perMinute,
                    ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            options.OnRejected = async (context, cancellationToken) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 60;
                context.HttpContext.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
                await Results.Problem($"too many submissions for owner '{Caller.From(context.HttpContext).Owner}'; retry in {retry} s (Auth:SubmitsPerMinute)",
                    statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests").ExecuteAsync(context.HttpContext);
            };
        });
}
