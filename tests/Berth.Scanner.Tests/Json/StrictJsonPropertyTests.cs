using System.Text.Json;
using Berth.Scanner.Json;

namespace Berth.Scanner.Tests.Json;

/// <summary>Property tests over generated JSON, each from a fixed seed (bench/Berth.Json.Fuzz runs the same properties for longer, with fresh seeds).</summary>
public sealed class StrictJsonPropertyTests
{
    private const int MaxDepth = 32;

    [Fact]
    public void Parse_GeneratedDocuments_VerdictFollowsThePlantedDefect()
    {
        var json = new HostileJson(seed: 20261123, MaxDepth);
        foreach (var defect in Enum.GetValues<JsonDefect>())
        {
            for (var i = 0; i < 400; i++)
            {
                var sample = json.Next(defect);
                if (defect == JsonDefect.None)
                {
                    using var document = StrictJson.Parse(sample.Utf8, MaxDepth);
                    AssertMeans(sample.Model, document.RootElement, sample.Text);
                    continue;
                }
                var e = Assert.Throws<StrictJsonException>(() => StrictJson.Parse(sample.Utf8, MaxDepth).Dispose());
                var expected = defect switch
                {
                    JsonDefect.DuplicateKey => "appears twice",
                    JsonDefect.LoneSurrogateKey or JsonDefect.LoneSurrogateValue or JsonDefect.InvalidUtf8 => "not valid Unicode",
                    JsonDefect.TooDeep => "depth",
                    _ => "",
                };
                Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{defect}: '{e.Message}' for {sample.Text}");
            }
        }
    }

    [Fact]
    public void Parse_MutatedDocumentsAndRandomBytes_AcceptOnlyWhatIsWellFormed()
    {
        var json = new HostileJson(seed: 4242, MaxDepth);
        var accepted = 0;
        for (var i = 0; i < 5000; i++)
        {
            var bytes = i % 2 == 0 ? json.Mutate(json.Next(JsonDefect.None).Utf8) : json.Bytes(64);
            JsonDocument document;
            try
            {
                document = StrictJson.Parse(bytes, MaxDepth);
            }
            catch (StrictJsonException)
            {
                continue; // the one way to refuse; any other exception fails the test
            }
            using (document)
            {
                AssertWellFormed(document.RootElement, 1);
                accepted++;
            }
        }
        Assert.InRange(accepted, 100, 4900); // both outcomes were exercised
    }

    /// <summary>What any accepted document must be: every key and string valid Unicode, no key twice in an object, depth within the limit.</summary>
    internal static void AssertWellFormed(JsonElement element, int depth)
    {
        Assert.True(depth <= MaxDepth);
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var keys = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    Assert.True(keys.Add(property.Name), $"duplicate key {property.Name}");
                    AssertScalars(property.Name);
                    AssertWellFormed(property.Value, depth + 1);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    AssertWellFormed(item, depth + 1);
                }
                break;
            case JsonValueKind.String:
                AssertScalars(element.GetString()!);
                break;
            case JsonValueKind.Number:
                Assert.DoesNotContain(element.GetRawText(), c => char.IsLetter(c) && c is not ('e' or 'E'));
                break;
        }
    }

    private static void AssertScalars(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsSurrogatePair(text, i))
            {
                i++;
                continue;
            }
            Assert.False(char.IsSurrogate(text[i]), $"lone surrogate at {i}");
        }
    }

    private static void AssertMeans(object? model, JsonElement element, string text)
    {
        switch (model)
        {
            case null:
                Assert.Equal(JsonValueKind.Null, element.ValueKind);
                break;
            case bool b:
                Assert.Equal(b, element.GetBoolean());
                break;
            case HostileJson.JsonNumber n:
                Assert.Equal(n.Literal, element.GetRawText());
                break;
            case string s:
                Assert.Equal(s, element.GetString());
                break;
            case List<object?> list:
                Assert.Equal(list.Count, element.GetArrayLength());
                foreach (var (item, value) in list.Zip(element.EnumerateArray()))
                {
                    AssertMeans(item, value, text);
                }
                break;
            case Dictionary<string, object?> obj:
                Assert.Equal(obj.Keys, element.EnumerateObject().Select(p => p.Name));
                foreach (var property in element.EnumerateObject())
                {
                    AssertMeans(obj[property.Name], property.Value, text);
                }
                break;
            default:
                Assert.Fail($"unexpected model {model.GetType()} in {text}");
                break;
        }
    }
}
