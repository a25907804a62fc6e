using System.Globalization;

namespace Berth.Scanner.Severity;

/// <summary>CVSS v3.0/v3.1 base score from a vector, per the FIRST specification (3.1 Roundup).</summary>
public static class Cvss3
{
    /// <summary>The base score, or null when the vector is not a complete CVSS v3 base vector.</summary>
    public static double? BaseScore(string? vector)
    {
        if (vector is null || !(vector.StartsWith("CVSS:3.0/", StringComparison.Ordinal) || vector.StartsWith("CVSS:3.1/", StringComparison.Ordinal)))
        {
            return null;
        }
        var metrics = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in vector.Split('/').Skip(1))
        {
            var kv = part.Split(':');
            if (kv.Length != 2 || !metrics.TryAdd(kv[0], kv[1]))
            {
                return null;
            }
        }
        var changed = Get(metrics, "S") switch { "U" => false, "C" => true, _ => (bool?)null };
        double? av = Get(metrics, "AV") switch { "N" => 0.85, "A" => 0.62, "L" => 0.55, "P" => 0.2, _ => null };
        double? ac = Get(metrics, "AC") switch { "L" => 0.77, "H" => 0.44, _ => null };
        double? pr = Get(metrics, "PR") switch { "N" => 0.85, "L" => changed == true ? 0.68 : 0.62, "H" => changed == true ? 0.5 : 0.27, _ => null };
        double? ui = Get(metrics, "UI") switch { "N" => 0.85, "R" => 0.62, _ => null };
        double? c = Impact(Get(metrics, "C"));
        double? i = Impact(Get(metrics, "I"));
        double? a = Impact(Get(metrics, "A"));
        if (changed is null || av is null || ac is null || pr is null || ui is null || c is null || i is null || a is null)
        {
            return null;
        }
        var iss = 1 - ((1 - c.Value) * (1 - i.Value) * (1 - a.Value));
        var impact = changed.Value ? (7.52 * (iss - 0.029)) - (3.25 * Math.Pow(iss - 0.02, 15)) : 6.42 * iss;
        var exploitability = 8.22 * av.Value * ac.Value * pr.Value * ui.Value;
        if (impact <= 0)
        {
            return 0;
        }
        return changed.Value
            ? Roundup(Math.Min(1.08 * (impact + exploitability), 10))
            : Roundup(Math.Min(impact + exploitability, 10));
    }

    private static string? Get(Dictionary<string, string> metrics, string key) => metrics.GetValueOrDefault(key);

    private static double? Impact(string? value) => value switch { "H" => 0.56, "L" => 0.22, "N" => 0, _ => null };

    /// <summary>CVSS 3.1 Appendix A: the smallest number with one decimal that is ≥ the input, without float noise.</summary>
    internal static double Roundup(double value)
    {
        var scaled = (long)Math.Round(value * 100_000);
        return scaled % 10_000 == 0
            ? scaled / 100_000.0
            : (Math.Floor(scaled / 10_000.0) + 1) / 10.0;
    }

    public static string Format(double score) => score.ToString("0.0", CultureInfo.InvariantCulture);
}
