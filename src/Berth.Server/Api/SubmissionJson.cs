using System.Text.Json;
using Berth.Scanner.Json;
using Berth.Server.Errors;
using Berth.Server.Submissions;
using Berth.Scanner;

namespace Berth.Server.Api;

/// <summary>
/// The JSON form of a submission, <c>{"dockerfile", "name", "limits": {"timeoutSeconds", "memoryMb", "cpus", "dataMb"}, "cache", "callbackUrl"}</c>,
/// read with <see cref="StrictJson"/>: no duplicate keys, no lone surrogates, no invalid UTF-8. Names are
/// case-sensitive and unknown ones are refused (a misspelt limit would otherwise silently get the default);
/// a limit must be a JSON number (a string such as <c>"5"</c> is refused), a whole one except <c>cpus</c>.
/// Every refusal is a 400 whose field names the member at fault.
/// </summary>
internal static class SubmissionJson
{
    private const int MaxDepth = 16;
    private static readonly string[] Fields = ["dockerfile", "name", "limits", "cache", "callbackUrl"];
    private static readonly string[] LimitFields = ["timeoutSeconds", "memoryMb", "cpus", "dataMb"];

    public static JobSubmission Read(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = StrictJson.Parse(body, MaxDepth);
        }
        catch (StrictJsonException e)
        {
            throw new RequestRejectedException(Rejection.BadRequest, $"the body is not valid JSON: {e.Message}", e.Field);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new RequestRejectedException(Rejection.BadRequest, "the JSON body must be an object like {\"dockerfile\": \"FROM ...\"}");
            }
            RefuseUnknown(root, Fields, "");
            var limits = new LimitsRequest(null, null, null);
            if (root.TryGetProperty("limits", out var given) && given.ValueKind != JsonValueKind.Null)
            {
                if (given.ValueKind != JsonValueKind.Object)
                {
                    throw new RequestRejectedException(Rejection.BadRequest, $"'limits' must be an object like {{\"timeoutSeconds\": 60}}, found {Describe(given)}", "limits");
                }
                RefuseUnknown(given, LimitFields, "limits.");
                limits = new LimitsRequest(WholeNumber(given, "timeoutSeconds"), WholeNumber(given, "memoryMb"), Number(given, "cpus"), WholeNumber(given, "dataMb"));
            }
            return new JobSubmission(Text(root, "dockerfile"), null, Text(root, "name"), limits, Flag(root, "cache") ?? true, Text(root, "callbackUrl"));
        }
    }

    private static void RefuseUnknown(JsonElement obj, string[] known, string prefix)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                var name = Ellipsis.Truncate(property.Name, 40);
                throw new RequestRejectedException(Rejection.BadRequest,
                    $"unknown field '{prefix}{name}'; the fields are {string.Join(", ", known.Select(k => prefix + k))} (names are case-sensitive)",
                    prefix + name);
            }
        }
    }

    private static bool? Flag(JsonElement obj, string key) =>
        !obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean()
        : throw new RequestRejectedException(Rejection.BadRequest, $"'{key}' must be true or false, found {Describe(value)}", key);

    private static string? Text(JsonElement obj, string key) =>
        !obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new RequestRejectedException(Rejection.BadRequest, $"'{key}' must be a string, found {Describe(value)}", key);

    private static int? WholeNumber(JsonElement limits, string key)
    {
        if (NumberElement(limits, key) is not { } value)
        {
            return null;
        }
        return value.TryGetInt32(out var number)
            ? number
            : throw new RequestRejectedException(Rejection.BadRequest, $"'limits.{key}' must be a whole number, found {Ellipsis.Truncate(value.GetRawText(), 40)}", $"limits.{key}");
    }

    private static double? Number(JsonElement limits, string key)
    {
        if (NumberElement(limits, key) is not { } value)
        {
            return null;
        }
        return value.TryGetDouble(out var number) && double.IsFinite(number)
            ? number
            : throw new RequestRejectedException(Rejection.BadRequest, $"'limits.{key}' must be a finite number, found {Ellipsis.Truncate(value.GetRawText(), 40)}", $"limits.{key}");
    }

    /// <summary>The member when it is a JSON number; null when it is absent or null; a 400 for any other kind.</summary>
    private static JsonElement? NumberElement(JsonElement limits, string key)
    {
        if (!limits.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.Number
            ? value
            : throw new RequestRejectedException(Rejection.BadRequest, $"'limits.{key}' must be a JSON number, found {Describe(value)}" +
                (value.ValueKind == JsonValueKind.String ? " (write the number without quotes)" : ""), $"limits.{key}");
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string {JsonSerializer.Serialize(Ellipsis.Truncate(value.GetString()!, 40))}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Number => $"the number {Ellipsis.Truncate(value.GetRawText(), 40)}",
        _ => "null",
    };
}
