namespace Berth.Scanner;

/// <summary>The one way Berth shortens text it shows: at most <c>max</c> characters and an ellipsis, never half a surrogate pair.</summary>
public static class Ellipsis
{
    public static string Truncate(string value, int max)
    {
        if (value.Length <= max)
        {
            return value;
        }
        var cut = max > 0 && char.IsHighSurrogate(value[max - 1]) ? max - 1 : max;
        return value[..cut] + "…";
    }
}
