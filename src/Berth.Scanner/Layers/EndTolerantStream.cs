namespace Berth.Scanner.Layers;

/// <summary>
/// A stream over a Docker Engine response: the client's chunked-response stream throws EndOfStreamException
/// when read again at its end;
/// a stream reports the end by returning 0. A body cut short mid-entry still fails the tar reader.
/// </summary>
public sealed class EndTolerantStream(Stream inner) : Stream
{
    private bool _ended;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

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

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
