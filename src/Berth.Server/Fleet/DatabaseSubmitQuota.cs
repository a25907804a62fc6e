using Berth.Server.Auth;
using Berth.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Server.Fleet;

/// <summary>Several API servers: submissions are counted per owner and minute in the shared database, so the limit holds across them.</summary>
public sealed class DatabaseSubmitQuota(IFleetStore fleet, IOptions<AuthOptions> options) : ISubmitQuota
{
    public Task<TimeSpan?> TryAcquireAsync(string owner, CancellationToken cancellationToken) =>
        fleet.TryCountSubmissionAsync(owner, options.Value.SubmitsPerMinute, cancellationToken);
}
