using System.Formats.Tar;
using System.Globalization;
using Berth.Server.Errors;
using Berth.Scanner;

namespace Berth.Server.Contexts;

/// <summary>
/// What a context's links stand for. <c>COPY l* /x/</c> copies every hard link and every symlink to a file as a
/// full copy of its target, inside dockerd where no build limit applies, so 19,000 links to one 80 MiB file
/// would write 1.5 TB. Each link that resolves (through other links, at most 40 hops) to a regular file counts
/// that file's size against the context's unpacked budget, as if it were a copy.
/// </summary>
internal sealed class LinkBudget
{
    private const int MaxHops = 40;
    private readonly Dictionary<string, long> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);

    /// <summary>Notes a checked entry (<paramref name="name"/> normalized, links already known to stay inside).</summary>
    public void Add(TarEntry entry, string name)
    {
        switch (entry.EntryType)
        {
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                _files[name] = entry.Length;
                break;
            case TarEntryType.HardLink:
                _links[name] = BuildContextPacker.NormalizeName(entry.LinkName);
                break;
            case TarEntryType.SymbolicLink:
                _links[name] = Resolve(name, entry.LinkName);
                break;
        }
    }

    /// <summary>Refuses (413) a context whose bytes plus its links' targets pass <paramref name="maxBytes"/>.</summary>
    public void Check(long bytes, long maxBytes)
    {
        var linked = 0L;
        foreach (var link in _links.Keys)
        {
            linked += TargetSize(link);
            if (bytes + linked > maxBytes)
            {
                throw new RequestRejectedException(Rejection.TooLarge, string.Create(CultureInfo.InvariantCulture,
                    $"the context's {_links.Count} links stand for more than {Units.ToMebibytes(maxBytes)} MiB of content (Limits:MaxContextMb): COPY and ADD would write each link's target in full"));
            }
        }
    }

    private long TargetSize(string link)
    {
        var current = link;
        for (var hop = 0; hop < MaxHops; hop++)
        {
            if (_files.TryGetValue(current, out var size))
            {
                return size;
            }
            if (!_links.TryGetValue(current, out var next))
            {
                return 0; // a directory, or nothing: no content of its own
            }
            current = next;
        }
        return 0;
    }

    /// <summary>A symlink's target as a context path (the packer already refused targets that leave the context).</summary>
    private static string Resolve(string name, string target) =>
        ContextArchives.Normalize((name.LastIndexOf('/') is var slash and > 0 ? name[..slash] + "/" : "") + target);
}
