namespace Berth.Scanner.Layers;

/// <summary>Some already-read bytes (a peeked header), then the rest of a stream.</summary>
public sealed class PrefixedStream(ReadOnlyMemory<byte> head, Stream tail) : ReadOnlyStream
{
    private ReadOnlyMemory<byte> _head = head;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_head.IsEmpty)
        {
            return tail.ReadAsync(buffer, cancellationToken);
        }
        var n = Math.Min(buffer.Length, _head.Length);
        _head.Span[..n].CopyTo(buffer.Span);
        _head = _head[n..];
        return ValueTask.FromResult(n);
    }
}
