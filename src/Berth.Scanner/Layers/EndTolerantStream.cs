namespace Berth.Scanner.Layers;

/// <summary>
/// A Docker Engine response body that ends by returning 0, as streams should: Docker.DotNet's chunked
/// response stream throws EndOfStreamException when read at its end. A body cut short mid-entry still
/// fails the tar reader.
/// </summary>
public sealed class EndTolerantStream(Stream inner) : ReadOnlyStream
{
    private bool _ended;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_ended || buffer.Length == 0)
        {
            return 0;
        }
        try
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            _ended = n == 0;
            return n;
        }
        catch (EndOfStreamException)
        {
            _ended = true;
            return 0;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
