using System.Reflection;
using Berth.Server.Auth;
using Berth.Server.Jobs;
using Berth.Server.Logging;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace Berth.Server.Streams;

/// <summary>
/// A streamed response that owns its subscription to <see cref="JobChanges"/> (made before the job was read, so no
/// change falls between). It sends its headers at once, disables response buffering, flushes every write, and stops
/// when the client goes away or the server stops. A failure after the headers went out closes the connection (the
/// client sees a broken stream, never a clean end).
/// </summary>
internal abstract class StreamResult(JobChangeSubscription changes, string contentType, string name, string? jobId) : IResult
{
    protected JobChangeSubscription Changes { get; } = changes;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var subscription = Changes;
        var lifetime = httpContext.RequestServices.GetRequiredService<IHostApplicationLifetime>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, lifetime.ApplicationStopping);
        var response = httpContext.Response;
        response.ContentType = contentType;
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // a proxy in front passes each write on
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await response.StartAsync(stop.Token);
            await response.Body.FlushAsync(stop.Token); // the headers go out now, not with the first event
            await StreamAsync(httpContext, response.Body, stop.Token);
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            // the client went away or the server is stopping: nothing to say to anyone
        }
        catch (Exception e)
        {
            var logger = httpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Berth.Streams");
            Log.StreamFailed(logger, name, jobId ?? "(all)", e);
            httpContext.Abort();
        }
    }

    protected abstract Task StreamAsync(HttpContext httpContext, Stream body, CancellationToken cancellationToken);
}

/// <summary><c>GET /api/v1/jobs/{id}/logs?follow=true</c>.</summary>
internal sealed class FollowedLogResult(Job job, JobChangeSubscription changes)
    : StreamResult(changes, "text/plain; charset=utf-8", "logs", job.Id)
{
    protected override Task StreamAsync(HttpContext httpContext, Stream body, CancellationToken cancellationToken) =>
        new LogFollower(
            httpContext.RequestServices.GetRequiredService<IJobStore>(),
            httpContext.RequestServices.GetRequiredService<IJobFiles>(),
            httpContext.RequestServices.GetRequiredService<LogPolling>()).WriteAsync(job, Changes, body, cancellationToken);
}

/// <summary><c>GET /api/v1/jobs/{id}/events</c> (one job) or <c>GET /api/v1/events</c> (every job the caller may see).</summary>
internal sealed class JobEventsResult(Job? job, Caller caller, JobChangeSubscription changes)
    : StreamResult(changes, "text/event-stream", "events", job?.Id), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), ["text/event-stream"]));

    protected override Task StreamAsync(HttpContext httpContext, Stream body, CancellationToken cancellationToken)
    {
        var stream = new JobEventStream(httpContext.RequestServices.GetRequiredService<IJobStore>(), httpContext.RequestServices.GetRequiredService<TimeProvider>());
        var events = new ServerSentEvents(body);
        return job is null
            ? stream.AllAsync(caller, Changes, events, cancellationToken)
            : stream.OneAsync(job, Changes, events, cancellationToken);
    }
}
