using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Berth.Server.Api;
using Berth.Server.Jobs;
using static Berth.Server.IntegrationTests.Infrastructure.BerthApi;

namespace Berth.Server.Tests.Api;

/// <summary>
/// Tar header bombs over real HTTP: a context whose PAX or GNU long-name header claims 400 MB, about 400 KB
/// gzipped on the wire. TarReader would read each such header whole into memory; Berth must refuse it first.
/// The server runs in this process, so this class runs alone (<see cref="AloneCollection"/>) and measures the
/// process's peak resident memory from a reset (<c>/proc/self/clear_refs</c>), not from start-up.
/// </summary>
[Collection(AloneCollection.Name)]
public sealed class HeaderBombTests
{
    private const long Mb = 1024 * 1024;
    private const long BombBytes = 400 * Mb;

    private static async Task<HttpResponseMessage> PostContextAsync(HttpClient client, HttpContent context)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("FROM busybox:latest\nCMD [\"true\"]\n"), "dockerfile" },
            { context, "context", "context.tar.gz" },
        };
        return await client.PostAsync(new Uri("/api/v1/jobs", UriKind.Relative), form);
    }

    [Fact]
    public async Task Submit_ParallelHeaderBombs_Are413AndTheServerStaysSmall()
    {
        await using var server = new BerthApiFactory(new Dictionary<string, string>
        {
            ["Limits:MaxContextMb"] = "100",
            ["Auth:SubmitsPerMinute"] = "100000",
        });
        using var client = server.CreateClient();
        // Warm the upload path (multipart, gzip, tar) with a small context refused for another reason.
        using (var warm = await PostContextAsync(client, new StreamContent(TarGz(("/etc/passwd", "x")))))
        {
            await ProblemAsync(warm, HttpStatusCode.UnprocessableEntity);
        }
        var before = ResetPeakResidentBytes();

        var kinds = new[] { ('L', "GNU long-name ('L')"), ('K', "GNU long-link ('K')"), ('x', "PAX extended ('x')"), ('g', "PAX global ('g')") };
        var responses = await Task.WhenAll(kinds.Select(k => PostContextAsync(client, new StreamContent(new GzipBomb(Header(k.Item1, BombBytes), BombBytes / Mb)))));

        var grown = Status("VmHWM") - before;
        foreach (var (response, (_, kind)) in responses.Zip(kinds))
        {
            using (response)
            {
                var detail = (await ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge)).GetProperty("detail").GetString();
                Assert.Contains($"{kind} tar header of {BombBytes} bytes", detail, StringComparison.Ordinal);
                Assert.Contains("64 KiB", detail, StringComparison.Ordinal);
            }
        }
        Assert.True(grown < 200 * Mb, $"the server's peak RSS grew by {grown / Mb} MiB while refusing {kinds.Length} header bombs");
        Assert.Empty((await client.GetFromJsonAsync<JobPage>("/api/v1/jobs", JobJson.Options))!.Items);
        var jobsRoot = Path.Combine(server.DataRoot, "jobs");
        Assert.Empty(Directory.Exists(jobsRoot) ? Directory.EnumerateFileSystemEntries(jobsRoot) : []);
    }

    /// <summary>Collects garbage, then resets this process's peak resident memory (VmHWM) to what it holds now, and returns that.</summary>
    private static long ResetPeakResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        File.WriteAllText("/proc/self/clear_refs", "5");
        return Status("VmRSS");
    }

    /// <summary>A memory figure of this process from /proc/self/status, in bytes.</summary>
    private static long Status(string field)
    {
        var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>A ustar header block of the given type claiming <paramref name="size"/> bytes of data.</summary>
    private static byte[] Header(char type, long size)
    {
        var header = new byte[512];
        "././@LongLink"u8.CopyTo(header);
        "0000644\0"u8.CopyTo(header.AsSpan(100));
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(header, 124);
        "00000000000\0"u8.CopyTo(header.AsSpan(136));
        header[156] = (byte)type;
        "ustar\0"u8.CopyTo(header.AsSpan(257));
        "00"u8.CopyTo(header.AsSpan(263));
        "        "u8.CopyTo(header.AsSpan(148));
        var sum = header.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        return header;
    }

    private static byte[] Gzip(byte[] data)
    {
        var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zip.Write(data);
        }
        return gz.ToArray();
    }

    /// <summary>
    /// gzip members produced as read, never held whole: one with the header, then one of 1 MiB of zeros
    /// <c>zerosMb</c> times (gzip readers join concatenated members). About 1 KiB per MiB unpacked.
    /// </summary>
    private sealed class GzipBomb(byte[] header, long zerosMb) : Stream
    {
        private static readonly byte[] Zeros = Gzip(new byte[Mb]);
        private readonly byte[] _head = Gzip(header);
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var end = _head.Length + Zeros.Length * zerosMb;
            if (_position >= end || count == 0)
            {
                return 0;
            }
            var (source, at) = _position < _head.Length ? (_head, (int)_position) : (Zeros, (int)((_position - _head.Length) % Zeros.Length));
            var n = Math.Min(count, source.Length - at);
            Array.Copy(source, at, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
