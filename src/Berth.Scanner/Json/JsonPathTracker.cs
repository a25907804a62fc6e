using System.Runtime.CompilerServices;
using System.Text;

namespace Berth.Scanner.Json;

/// <summary>
/// Where <see cref="StrictJson.Validate"/> is in the document: one frame per open object or array, the
/// keys each open object has seen (for the duplicate check), and paths like <c>$.limits.cpus</c> or
/// <c>$.affected[2]</c>, built only when a message needs one. Keys are kept as unescaped UTF-8 in one
/// arena, stack-wise (a closed object's keys are dropped), so a document allocates nothing per key;
/// an object with many keys gets a hash set, so a million keys stay linear.
/// </summary>
internal sealed class JsonPathTracker
{
    private const int LinearKeys = 32;
    private const int KeptBytes = 1024 * 1024;

    private struct Frame
    {
        public bool IsObject;
        public int FirstKey;
        public int Index;
        public HashSet<string>? Many;
    }

    [ThreadStatic]
    private static JsonPathTracker? t_tracker;

    private Frame[] _frames = new Frame[16];
    private int _depth;
    private (int Start, int Length)[] _keys = new (int, int)[64];
    private int _keyCount;
    private byte[] _arena = new byte[4096];
    private int _arenaLength;

    /// <summary>
    /// This thread's tracker, emptied: a validation never calls out, so one per thread is enough and its buffers
    /// are reused (18,000 advisories at start-up allocate them once). One that grew past 1 MiB is not kept.
    /// </summary>
    public static JsonPathTracker ForThisThread()
    {
        if (t_tracker is { } old && (old._arena.Length > KeptBytes || old._keys.Length * 8 > KeptBytes))
        {
            t_tracker = null;
        }
        var tracker = t_tracker ??= new JsonPathTracker();
        tracker._depth = 0;
        tracker._keyCount = 0;
        tracker._arenaLength = 0;
        return tracker;
    }

    /// <summary>" (at $.limits)": the innermost open object or array.</summary>
    public string Where => $" (at {Build(_depth - 1) ?? "the top level"})";

    /// <summary>" (at $.limits.cpus)": the value being read.</summary>
    public string ValueWhere => $" (at {Build(_depth) ?? "the top level"})";

    /// <summary>The innermost open object or array as a field name (<c>limits</c>); null at the top level.</summary>
    public string? Field => ToField(Build(_depth - 1));

    /// <summary>The value being read as a field name (<c>limits.cpus</c>); null at the top level.</summary>
    public string? ValueField => ToField(Build(_depth));

    /// <summary>The member <paramref name="key"/> of the innermost object as a field name.</summary>
    public string MemberField(string key) => ToField((Build(_depth - 1) ?? "$") + Member(key))!;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Open(bool isObject)
    {
        if (_depth == _frames.Length)
        {
            Array.Resize(ref _frames, _depth * 2);
        }
        _frames[_depth++] = new Frame { IsObject = isObject, FirstKey = _keyCount };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Close()
    {
        var frame = _frames[--_depth];
        if (frame.FirstKey < _keyCount)
        {
            _arenaLength = _keys[frame.FirstKey].Start;
            _keyCount = frame.FirstKey;
        }
        Value();
    }

    /// <summary>A value ended: the next one in an array has the next index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Value()
    {
        if (_depth > 0 && !_frames[_depth - 1].IsObject)
        {
            _frames[_depth - 1].Index++;
        }
    }

    /// <summary>Room for a key of at most <paramref name="length"/> bytes at the end of the arena, to write it unescaped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Span<byte> KeySpace(int length)
    {
        if (_arenaLength + length > _arena.Length)
        {
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaLength + length));
        }
        return _arena.AsSpan(_arenaLength, length);
    }

    /// <summary>
    /// Records <paramref name="key"/> (unescaped UTF-8) as a key of the innermost object; <paramref name="inKeySpace"/>
    /// says it was written to <see cref="KeySpace"/> already. False when the object already has the key.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool AddKey(ReadOnlySpan<byte> key, bool inKeySpace)
    {
        var written = key.Length;
        if (!inKeySpace)
        {
            key.CopyTo(KeySpace(written));
        }
        var bytes = _arena.AsSpan(_arenaLength, written);
        ref var frame = ref _frames[_depth - 1];
        if (frame.Many is not null)
        {
            if (!frame.Many.Add(Encoding.UTF8.GetString(bytes)))
            {
                return false;
            }
        }
        else
        {
            for (var i = frame.FirstKey; i < _keyCount; i++)
            {
                if (_arena.AsSpan(_keys[i].Start, _keys[i].Length).SequenceEqual(bytes))
                {
                    return false;
                }
            }
            if (_keyCount - frame.FirstKey >= LinearKeys)
            {
                frame.Many = new HashSet<string>(StringComparer.Ordinal);
                for (var i = frame.FirstKey; i < _keyCount; i++)
                {
                    frame.Many.Add(KeyAt(i));
                }
                frame.Many.Add(Encoding.UTF8.GetString(bytes));
            }
        }
        if (_keyCount == _keys.Length)
        {
            Array.Resize(ref _keys, _keyCount * 2);
        }
        _keys[_keyCount++] = (_arenaLength, written);
        _arenaLength += written;
        return true;
    }

    private string KeyAt(int i) => Encoding.UTF8.GetString(_arena, _keys[i].Start, _keys[i].Length);

    /// <summary>The key an object frame is reading: its last one (the next frame's keys start after it).</summary>
    private string CurrentKey(int frame)
    {
        var end = frame + 1 < _depth ? _frames[frame + 1].FirstKey : _keyCount;
        return end > _frames[frame].FirstKey ? KeyAt(end - 1) : "";
    }

    /// <summary>"$" and the slots of the first <paramref name="frames"/> frames; null for "$" itself.</summary>
    private string? Build(int frames)
    {
        if (frames <= 0)
        {
            return null;
        }
        var path = new StringBuilder("$");
        for (var i = 0; i < frames; i++)
        {
            path.Append(_frames[i].IsObject ? Member(CurrentKey(i)) : $"[{_frames[i].Index}]");
        }
        return path.ToString();
    }

    /// <summary><c>$.limits.cpus</c> → <c>limits.cpus</c>, <c>$[2]</c> → <c>[2]</c>.</summary>
    private static string? ToField(string? path) => path is null ? null : path[1..].TrimStart('.');

    private static string Member(string key) =>
        key.Length > 0 && (char.IsAsciiLetter(key[0]) || key[0] == '_') && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
            ? "." + key
            : "[" + StrictJson.Quote(key) + "]";
}
