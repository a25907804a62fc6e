using System.Text.RegularExpressions;

namespace Berth.Server.Http;

/// <summary>
/// Takes the request's <c>X-Correlation-Id</c> (or makes one), echoes it on the response, and puts it
/// in the log scope of the request; jobs store it so worker log lines carry it too.
/// </summary>
public static partial class CorrelationId
{
    public const string Header = "X-Correlation-Id";

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex Valid();

    public static string? Of(HttpContext context) => context.Items[Header] as string;

    public static IApplicationBuilder UseCorrelationId(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var given = context.Request.Headers[Header].ToString();
        var id = Valid().IsMatch(given) ? given : Guid.NewGuid().ToString("N");
        context.Items[Header] = id;
        context.Response.Headers[Header] = id;
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Berth.Http");
        using (logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = id }))
        {
            await next(context);
        }
    });
}
