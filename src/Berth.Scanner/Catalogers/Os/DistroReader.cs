using System.Text;
using Berth.Scanner.Layers;
using Berth.Scanner.Packages;

namespace Berth.Scanner.Catalogers.Os;

/// <summary>The distribution: <c>/etc/os-release</c>, else <c>/usr/lib/os-release</c>, else <c>/etc/alpine-release</c> or <c>/etc/debian_version</c>.</summary>
public static class DistroReader
{
    private static readonly string[] Paths = ["etc/os-release", "usr/lib/os-release", "etc/alpine-release", "etc/debian_version"];

    public static bool Wants(string path) => Paths.Contains(path, StringComparer.Ordinal);

    public static Distro? Read(ImageFiles files)
    {
        foreach (var path in Paths.Take(2))
        {
            if (files.Get(path) is { } file)
            {
                var fields = ParseOsRelease(Encoding.UTF8.GetString(file.Content));
                if (fields.TryGetValue("ID", out var id) && id.Length > 0)
                {
                    fields.TryGetValue("VERSION_ID", out var version);
                    fields.TryGetValue("PRETTY_NAME", out var pretty);
                    if (string.IsNullOrEmpty(version) && id == "debian" && files.Get("etc/debian_version") is { } dv)
                    {
                        version = Encoding.UTF8.GetString(dv.Content).Trim(); // testing/sid carry no VERSION_ID
                    }
                    return new Distro(id, version ?? "", pretty);
                }
            }
        }
        if (files.Get("etc/alpine-release") is { } alpine)
        {
            return new Distro("alpine", Encoding.UTF8.GetString(alpine.Content).Trim(), null);
        }
        if (files.Get("etc/debian_version") is { } debian)
        {
            return new Distro("debian", Encoding.UTF8.GetString(debian.Content).Trim(), null);
        }
        return null;
    }

    internal static Dictionary<string, string> ParseOsRelease(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.StartsWith('#') || eq <= 0)
            {
                continue;
            }
            var value = line[(eq + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }
            var key = line[..eq];
            fields[key] = key == "ID" ? value.ToLowerInvariant() : value;
        }
        return fields;
    }
}
