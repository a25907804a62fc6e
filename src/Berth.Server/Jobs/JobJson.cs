using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Server.Jobs;

/// <summary>The one JSON shape of Berth: camelCase, enums as lower-case strings.</summary>
public static class JobJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        return options;
    }
}
