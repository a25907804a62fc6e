using System.Globalization;
using System.Text;

namespace Berth.Scanner.Tests.Json;

/// <summary>What a generated document has wrong (or <see cref="None"/>), and so what a strict reader must say.</summary>
public enum JsonDefect
{
    None,
    DuplicateKey,
    LoneSurrogateKey,
    LoneSurrogateValue,
    InvalidUtf8,
    TooDeep,
    NamedNumber,
    Syntax,
}

/// <summary>A generated document: the exact bytes, what is wrong with them, and the value they mean when nothing is.</summary>
public sealed record JsonSample(byte[] Utf8, JsonDefect Defect, object? Model)
{
    public string Text => Encoding.UTF8.GetString(Utf8);
}

/// <summary>
/// Random JSON for property tests, reproducible from a seed. Well-formed documents come with their model
/// (<see cref="Dictionary{TKey,TValue}"/> of members in order, <see cref="List{T}"/>, <see cref="string"/>,
/// a number's literal text as <see cref="JsonNumber"/>, <see cref="bool"/>, null), written with random
/// whitespace and random escaping (<c>"a"</c> may be <c>"\u0061"</c>). A defect is planted at a random place.
/// Shared by the scanner tests, the server tests and bench/Berth.Json.Fuzz.
/// </summary>
public sealed class HostileJson(int seed, int maxDepth = 32)
{
    /// <summary>A number in the model: its literal text.</summary>
    public sealed record JsonNumber(string Literal);

    private readonly Random _random = new(seed);

    public Random Random => _random;

    /// <summary>A document with <paramref name="defect"/> planted (or none), nesting at most a few levels when well-formed.</summary>
    public JsonSample Next(JsonDefect defect)
    {
        var model = Value(0, maxNesting: Math.Min(5, maxDepth - 1));
        var writer = new List<byte>();
        var planted = defect == JsonDefect.None;
        Write(writer, model, 1, defect, ref planted);
        if (!planted)
        {
            // No place was chosen on the way: wrap the document so the defect sits in an object member.
            writer.Clear();
            planted = false;
            Write(writer, new Dictionary<string, object?> { ["k"] = model }, 1, defect, ref planted, force: true);
        }
        return new JsonSample([.. writer], defect, defect == JsonDefect.None ? model : null);
    }

    /// <summary>A document with a random defect, or none about a third of the time.</summary>
    public JsonSample Next() => Next(_random.Next(3) == 0 ? JsonDefect.None : (JsonDefect)_random.Next(1, Enum.GetValues<JsonDefect>().Length));

    /// <summary>Random bytes, biased towards JSON's own characters so that they get past the first byte.</summary>
    public byte[] Bytes(int maxLength)
    {
        const string alphabet = "{}[]\":,0123456789.eE-+ \\utrfalsn\u00e9";
        var bytes = new byte[_random.Next(maxLength + 1)];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = _random.Next(4) == 0 ? (byte)_random.Next(256) : (byte)alphabet[_random.Next(alphabet.Length)];
        }
        return bytes;
    }

    /// <summary><paramref name="bytes"/> with a few bytes flipped, inserted or deleted.</summary>
    public byte[] Mutate(byte[] bytes)
    {
        var list = bytes.ToList();
        for (var n = _random.Next(1, 4); n > 0; n--)
        {
            var at = _random.Next(list.Count + 1);
            switch (_random.Next(3))
            {
                case 0 when at < list.Count:
                    list[at] = (byte)_random.Next(256);
                    break;
                case 1 when at < list.Count:
                    list.RemoveAt(at);
                    break;
                default:
                    list.Insert(at, (byte)_random.Next(256));
                    break;
            }
        }
        return [.. list];
    }

    /// <summary>A random string of Unicode scalar values: ASCII, controls, BMP letters and astral characters (surrogate pairs).</summary>
    public string Text(int maxLength)
    {
        var text = new StringBuilder();
        for (var n = _random.Next(maxLength + 1); n > 0; n--)
        {
            text.Append(_random.Next(6) switch
            {
                0 => char.ConvertFromUtf32(_random.Next(0, 0x20)),
                1 => char.ConvertFromUtf32(_random.Next(0x80, 0xD800)),
                2 => char.ConvertFromUtf32(_random.Next(0x10000, 0x110000)),
                3 => "\"\\/"[_random.Next(3)].ToString(),
                _ => char.ConvertFromUtf32(_random.Next(0x20, 0x7F)),
            });
        }
        return text.ToString();
    }

    private object? Value(int depth, int maxNesting) => _random.Next(depth >= maxNesting ? 4 : 6) switch
    {
        0 => null,
        1 => _random.Next(2) == 0,
        2 => new JsonNumber(NumberLiteral()),
        3 => Text(12),
        4 => Enumerable.Range(0, _random.Next(4)).Select(_ => Value(depth + 1, maxNesting)).ToList(),
        _ => Enumerable.Range(0, _random.Next(5)).Select(_ => Text(6)).Distinct(StringComparer.Ordinal)
            .ToDictionary(k => k, _ => Value(depth + 1, maxNesting), StringComparer.Ordinal),
    };

    private string NumberLiteral()
    {
        var text = new StringBuilder(_random.Next(4) == 0 ? "-" : "");
        var digits = _random.NextInt64(1, long.MaxValue).ToString(CultureInfo.InvariantCulture);
        text.Append(_random.Next(3) == 0 ? "0" : digits[..Math.Min(digits.Length, _random.Next(1, 12))]);
        if (_random.Next(3) == 0)
        {
            text.Append('.').Append(_random.Next(0, 100000).ToString(CultureInfo.InvariantCulture));
        }
        if (_random.Next(4) == 0)
        {
            text.Append("eE"[_random.Next(2)]).Append(new[] { "", "+", "-" }[_random.Next(3)]).Append(_random.Next(0, 40).ToString(CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    private void Write(List<byte> w, object? value, int depth, JsonDefect defect, ref bool planted, bool force = false)
    {
        Space(w);
        switch (value)
        {
            case null:
                Ascii(w, "null");
                break;
            case bool b:
                Ascii(w, b ? "true" : "false");
                break;
            case JsonNumber n:
                Ascii(w, n.Literal);
                break;
            case string s:
                WriteString(w, s, !planted && defect == JsonDefect.LoneSurrogateValue && Chance(), defect, ref planted);
                break;
            case List<object?> list:
                w.Add((byte)'[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        w.Add((byte)',');
                    }
                    Write(w, list[i], depth + 1, defect, ref planted);
                }
                Space(w);
                w.Add((byte)']');
                break;
            case Dictionary<string, object?> obj:
                WriteObject(w, obj, depth, defect, ref planted, force);
                break;
        }
        Space(w);
    }

    private void WriteObject(List<byte> w, Dictionary<string, object?> obj, int depth, JsonDefect defect, ref bool planted, bool force)
    {
        w.Add((byte)'{');
        var first = true;
        foreach (var (key, member) in obj)
        {
            Separator(w, ref first);
            var plantKey = !planted && (defect is JsonDefect.LoneSurrogateKey or JsonDefect.InvalidUtf8) && (force || Chance());
            WriteString(w, key, plantKey, defect, ref planted);
            w.Add((byte)':');
            Write(w, member, depth + 1, defect, ref planted);
        }
        if (!planted && (force || Chance()))
        {
            switch (defect)
            {
                case JsonDefect.DuplicateKey when obj.Count > 0:
                    Separator(w, ref first);
                    var again = obj.Keys.ElementAt(_random.Next(obj.Count));
                    WriteString(w, again, plant: false, defect, ref planted); // written afresh: the escaping may differ
                    Ascii(w, ":1");
                    planted = true;
                    break;
                case JsonDefect.DuplicateKey:
                    Ascii(w, "\"d\":1,\"\\u0064\":2");
                    first = false;
                    planted = true;
                    break;
                case JsonDefect.TooDeep:
                    Separator(w, ref first);
                    var levels = maxDepth - depth + 1 + _random.Next(3);
                    Ascii(w, "\"deep\":" + new string('[', levels) + new string(']', levels));
                    planted = true;
                    break;
                case JsonDefect.NamedNumber:
                    Separator(w, ref first);
                    Ascii(w, "\"n\":" + new[] { "NaN", "Infinity", "-Infinity" }[_random.Next(3)]);
                    planted = true;
                    break;
                case JsonDefect.Syntax:
                    Separator(w, ref first);
                    Ascii(w, new[] { "\"x\":1,", "\"x\":01", "'x':1", "\"x\":1 /* c */", "x:1", "\"x\":+1", "\"x\":.5", "\"x\":0x10", "\"x\":\"\t\"", "\"x\":\"\\q\"" }[_random.Next(10)]);
                    planted = true;
                    break;
                case JsonDefect.InvalidUtf8:
                case JsonDefect.LoneSurrogateValue:
                    Separator(w, ref first);
                    Ascii(w, "\"v\":");
                    WriteString(w, Text(4), plant: true, defect, ref planted);
                    break;
            }
        }
        Space(w);
        w.Add((byte)'}');
    }

    private void Separator(List<byte> w, ref bool first)
    {
        if (!first)
        {
            w.Add((byte)',');
        }
        first = false;
        Space(w);
    }

    private void WriteString(List<byte> w, string s, bool plant, JsonDefect defect, ref bool planted)
    {
        w.Add((byte)'"');
        var at = plant ? _random.Next(s.Length + 1) : -1;
        if (at > 0 && at < s.Length && char.IsLowSurrogate(s[at]))
        {
            at--; // plant between characters, never inside a surrogate pair
        }
        for (var i = 0; i <= s.Length; i++)
        {
            if (i == at)
            {
                w.AddRange(defect == JsonDefect.InvalidUtf8 ? BadUtf8() : LoneSurrogate());
                planted = true;
            }
            if (i == s.Length)
            {
                break;
            }
            var scalar = char.ConvertToUtf32(s, i);
            var width = char.IsSurrogatePair(s, i) ? 2 : 1;
            if (scalar < 0x20 || scalar is '"' or '\\' || _random.Next(8) == 0)
            {
                for (var k = 0; k < width; k++)
                {
                    Ascii(w, "\\u" + ((int)s[i + k]).ToString(_random.Next(2) == 0 ? "x4" : "X4", CultureInfo.InvariantCulture));
                }
            }
            else
            {
                w.AddRange(Encoding.UTF8.GetBytes(s.Substring(i, width)));
            }
            i += width - 1;
        }
        w.Add((byte)'"');
    }

    /// <summary>A lone surrogate, escaped (high alone, low alone, high then a non-low) or raw (CESU-8 bytes).</summary>
    private byte[] LoneSurrogate()
    {
        var high = _random.Next(0xD800, 0xDC00).ToString("x4", CultureInfo.InvariantCulture);
        var low = _random.Next(0xDC00, 0xE000).ToString("X4", CultureInfo.InvariantCulture);
        return _random.Next(5) switch
        {
            0 => Encoding.ASCII.GetBytes($"\\u{high}"),
            1 => Encoding.ASCII.GetBytes($"\\u{low}"),
            2 => Encoding.ASCII.GetBytes($"\\u{high}\\u{high}"),
            3 => Encoding.ASCII.GetBytes($"\\u{high}\\n"),
            _ => [0xED, (byte)_random.Next(0xA0, 0xC0), (byte)_random.Next(0x80, 0xC0)],
        };
    }

    /// <summary>Bytes that are not UTF-8: a stray continuation, an overlong form, a cut sequence, a byte UTF-8 never uses, a code point past U+10FFFF.</summary>
    private byte[] BadUtf8() => _random.Next(5) switch
    {
        0 => [(byte)_random.Next(0x80, 0xC0)],
        1 => [0xC0, 0xAF],
        2 => [0xE2, 0x82],
        3 => [(byte)_random.Next(0xF8, 0x100)],
        _ => [0xF4, 0x90, 0x80, 0x80],
    };

    private void Space(List<byte> w)
    {
        if (_random.Next(4) == 0)
        {
            w.Add(" \t\r\n"u8[_random.Next(4)]);
        }
    }

    private bool Chance() => _random.Next(3) == 0;

    private static void Ascii(List<byte> w, string text) => w.AddRange(Encoding.ASCII.GetBytes(text));
}
