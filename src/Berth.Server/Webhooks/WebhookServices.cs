using Berth.Server.Configuration;

namespace Berth.Server.Webhooks;

public static class WebhookServices
{
    /// <summary>Webhook options (validated at start-up), the sender and the dispatcher. The store registers the <see cref="IWebhookOutbox"/>.</summary>
    public static IServiceCollection AddBerthWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhooksOptions>().BindConfiguration(WebhooksOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IHostResolver, DnsHostResolver>();
        services.AddSingleton<WebhookSender>();
        services.AddHostedService<WebhookDispatcher>();
        return services;
    }
}
