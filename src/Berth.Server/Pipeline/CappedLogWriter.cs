using System.Globalization;
using System.Text;

namespace Berth.Server.Pipeline;

/// <summary>
/// Appends to a log file up to a byte cap, flushing each chunk so a running job's log can be read as it grows;
/// what comes after the cap is counted, dropped, and noted in a marker line.
/// </summary>
public sealed class CappedLogWriter(string path, long capBytes) : IDisposable
{
    private readonly FileStream _file = new(path, FileMode.Create, FileAccess.Write, FileShare.Read, 16 * 1024);
    private readonly Lock _gate = new();
    private long _written;
    private long _dropped;

    public bool Truncated => _dropped > 0;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            var room = (int)Math.Min(bytes.Length, Math.Max(0, capBytes - _written));
            if (room > 0)
            {
                _file.Write(bytes[..room]);
                _file.Flush(); // readers of a running job's log see each chunk as it comes
                _written += room;
            }
            _dropped += bytes.Length - room;
        }
    }

    public void Write(string text) => Write(Encoding.UTF8.GetBytes(text));

    public void Dispose()
    {
        lock (_gate)
        {
            if (_dropped > 0)
            {
                var marker = string.Create(CultureInfo.InvariantCulture, $"\n[berth] log truncated: the {capBytes}-byte cap was reached and {_dropped} more bytes were dropped\n");
                _file.Write(Encoding.UTF8.GetBytes(marker));
            }
            _file.Dispose();
        }
    }
}
