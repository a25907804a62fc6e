using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;

namespace Berth.Scanner.Json;

/// <summary>
/// The one JSON reader for everything Berth reads that someone else wrote (submissions, perf.json,
/// package metadata in images, advisories). Before any value is used, the whole text is checked in
/// one forward pass:
/// <list type="bullet">
/// <item>RFC 8259 syntax only: no comments, no trailing commas, no <c>NaN</c>/<c>Infinity</c>, one value (a leading UTF-8 BOM is skipped);</item>
/// <item>nesting at most <c>maxDepth</c> deep;</item>
/// <item>every key and string is valid Unicode: raw invalid UTF-8 and lone UTF-16 surrogates (escaped <c>\ud800</c> or raw) are refused;</item>
/// <item>no object has the same key twice (compared after unescaping, ordinally: <c>"a"</c> and <c>"\u0061"</c> are the same key).</item>
/// </list>
/// Every refusal is a <see cref="StrictJsonException"/>; nothing else escapes. Numbers stay JSON numbers:
/// <see cref="Deserialize{T}"/> refuses options that would read them from strings. System.Text.Json reads
/// numbers culture-invariantly.
/// </summary>
public static class StrictJson
{
    public const int DefaultMaxDepth = 64;

    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Checks <paramref name="utf8"/>, then parses it. The document keeps a reference to the memory: do not change it.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, int maxDepth = DefaultMaxDepth)
    {
        Validate(utf8.Span, maxDepth);
        var body = utf8.Span.StartsWith(Bom) ? utf8[Bom.Length..] : utf8;
        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (JsonException e)
        {
            throw new StrictJsonException(Describe(e), null, e);
        }
    }

    /// <summary>
    /// Checks <paramref name="utf8"/>, then binds it with <paramref name="options"/>, which must read numbers only as numbers
    /// (<see cref="JsonNumberHandling.Strict"/>, and no <c>[JsonNumberHandling]</c> on <typeparamref name="T"/>), names
    /// case-sensitively, and no comments or trailing commas; other options are a programming error (<see cref="ArgumentException"/>).
    /// </summary>
    public static T? Deserialize<T>(ReadOnlySpan<byte> utf8, JsonSerializerOptions options)
    {
        RequireStrict(options);
        Validate(utf8, options.MaxDepth == 0 ? DefaultMaxDepth : options.MaxDepth);
        try
        {
            return JsonSerializer.Deserialize<T>(utf8.StartsWith(Bom) ? utf8[Bom.Length..] : utf8, options);
        }
        catch (JsonException e)
        {
            throw new StrictJsonException(Describe(e), FieldOf(e.Path), e);
        }
        catch (NotSupportedException e)
        {
            throw new StrictJsonException(e.Message, null, e);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless the options read numbers only as numbers, keys case-sensitively, and nothing but RFC 8259.</summary>
    private static void RequireStrict(JsonSerializerOptions options)
    {
        if (options.NumberHandling != JsonNumberHandling.Strict || options.AllowTrailingCommas
            || options.ReadCommentHandling != JsonCommentHandling.Disallow || options.PropertyNameCaseInsensitive)
        {
            throw new ArgumentException("strict JSON needs NumberHandling.Strict, no trailing commas, no comments and case-sensitive names", nameof(options));
        }
    }

    /// <summary>Throws <see cref="StrictJsonException"/> at the first thing this reader refuses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a hot loop from the first call: loading advisories runs it 18,000 times at start-up
    public static void Validate(ReadOnlySpan<byte> utf8, int maxDepth = DefaultMaxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        if (utf8.StartsWith(Bom))
        {
            utf8 = utf8[Bom.Length..];
        }
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = maxDepth });
        var path = JsonPathTracker.ForThisThread();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        path.Open(reader.TokenType == JsonTokenType.StartObject);
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        path.Close();
                        break;
                    case JsonTokenType.PropertyName:
                        var key = Unescaped(ref reader, path, isKey: true);
                        if (!path.AddKey(key, inKeySpace: reader.ValueIsEscaped))
                        {
                            var name = Encoding.UTF8.GetString(key);
                            throw new StrictJsonException($"the key {Quote(name)} appears twice in one object{path.Where}", path.MemberField(name));
                        }
                        break;
                    case JsonTokenType.String:
                        Unescaped(ref reader, path, isKey: false);
                        path.Value();
                        break;
                    default:
                        path.Value();
                        break;
                }
            }
        }
        catch (JsonException e) when (e is not StrictJsonException)
        {
            throw new StrictJsonException(Describe(e), path.Field, e);
        }
    }

    /// <summary>
    /// The current key or string as unescaped UTF-8: the input itself when nothing is escaped, else written to the
    /// tracker's key space. Refuses invalid UTF-8 and lone surrogates, escaped or raw.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ReadOnlySpan<byte> Unescaped(ref Utf8JsonReader reader, JsonPathTracker path, bool isKey)
    {
        var text = reader.ValueSpan;
        if (reader.ValueIsEscaped)
        {
            var space = path.KeySpace(text.Length); // unescaping never makes text longer
            try
            {
                text = space[..reader.CopyString(space)];
            }
            catch (InvalidOperationException)
            {
                throw Unicode(path, isKey);
            }
        }
        // CopyString refuses lone surrogates today; checking the result keeps the promise if it ever stops.
        return Utf8.IsValid(text) ? text : throw Unicode(path, isKey);
    }

    private static StrictJsonException Unicode(JsonPathTracker path, bool isKey) => isKey
        ? new StrictJsonException($"a key{path.Where} is not valid Unicode (a lone UTF-16 surrogate or invalid UTF-8)", path.Field)
        : new StrictJsonException($"the string{path.ValueWhere} is not valid Unicode (a lone UTF-16 surrogate or invalid UTF-8)", path.ValueField);

    /// <summary>At most 40 characters of <paramref name="text"/> (never half a surrogate pair) as a JSON string: control characters escaped, safe in a message or a log.</summary>
    internal static string Quote(string text) =>
        JsonSerializer.Serialize(Ellipsis.Truncate(text, 40));

    private static string Describe(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        var first = (cut < 0 ? message : message[..cut]).TrimEnd('.');
        return e.LineNumber is { } line && e.BytePositionInLine is { } column
            ? $"{first} (line {line + 1}, byte {column + 1})"
            : first;
    }

    private static string? FieldOf(string? jsonPath) =>
        jsonPath is { Length: > 1 } p && p[0] == '$' ? p[1..].TrimStart('.') : null;
}

/// <summary>JSON text the strict reader refuses. <see cref="Field"/> names where, e.g. <c>limits.cpus</c> or <c>affected[2]</c> (null when the fault is not inside one member).</summary>
public sealed class StrictJsonException(string message, string? field, Exception? inner = null)
    : JsonException(message, null, null, null, inner)
{
    public string? Field { get; } = field;
}
