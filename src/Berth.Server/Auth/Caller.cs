using System.Security.Claims;
using Berth.Server.Configuration;
using Berth.Server.Jobs;

namespace Berth.Server.Auth;

/// <summary>Who is calling: the owner their key names, and whether they may see every owner's jobs.</summary>
public sealed record Caller(string Owner, bool IsAdmin)
{
    public static Caller From(HttpContext context) => From(context.User);

    public static Caller From(ClaimsPrincipal user) =>
        new(user.Identity?.Name ?? Job.LocalOwner, user.IsInRole(KeyRole.Admin.ToWire()));

    /// <summary>A job another owner holds is, to a user, a job that does not exist.</summary>
    public bool CanSee(Job job) => IsAdmin || job.Owner == Owner;
}
