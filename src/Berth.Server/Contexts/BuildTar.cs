using System.Formats.Tar;
using System.Text;

namespace Berth.Server.Contexts;

/// <summary>The tar the engine builds from: the stored context with its Dockerfile replaced by the one Berth builds.</summary>
public static class BuildTar
{
    public static async Task WriteAsync(string contextTar, string destination, string dockerfile, CancellationToken cancellationToken)
    {
        await using var output = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true);
        await using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            await using (var input = new FileStream(contextTar, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true))
            await using (var reader = new TarReader(input))
            {
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
                {
                    if (entry.Name != BuildContextPacker.DockerfileName)
                    {
                        await writer.WriteEntryAsync(entry, cancellationToken);
                    }
                }
            }
            var file = new PaxTarEntry(TarEntryType.RegularFile, BuildContextPacker.DockerfileName)
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes(dockerfile)),
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            };
            await writer.WriteEntryAsync(file, cancellationToken);
        }
    }
}
