using System.Text;

namespace Berth.Scanner.Json;

/// <summary>
/// Where <see cref="StrictJson.Validate"/> is in the document: one frame per open object or array,
/// the keys each object has seen (for the duplicate check), and paths like <c>$.limits.cpus</c> or
/// <c>$.affected[2]</c>, built only when a message needs one.
/// </summary>
internal sealed class JsonPathTracker
{
    private sealed class Frame(bool isObject)
    {
        public bool IsObject { get; } = isObject;
        public HashSet<string>? Keys { get; set; }
        public string? Key { get; set; }
        public int Index { get; set; }
    }

    private readonly List<Frame> _frames = [];

    /// <summary>" (at $.limits)": the innermost open object or array.</summary>
    public string Where => $" (at {Build(_frames.Count - 1) ?? "the top level"})";

    /// <summary>" (at $.limits.cpus)": the value being read.</summary>
    public string ValueWhere => $" (at {Build(_frames.Count) ?? "the top level"})";

    /// <summary>The innermost open object or array as a field name (<c>limits</c>); null at the top level.</summary>
    public string? Field => ToField(Build(_frames.Count - 1));

    /// <summary>The value being read as a field name (<c>limits.cpus</c>); null at the top level.</summary>
    public string? ValueField => ToField(Build(_frames.Count));

    /// <summary>The member <paramref name="key"/> of the innermost object as a field name.</summary>
    public string MemberField(string key) => ToField((Build(_frames.Count - 1) ?? "$") + Member(key))!;

    public void Open(bool isObject) => _frames.Add(new Frame(isObject));

    public void Close()
    {
        _frames.RemoveAt(_frames.Count - 1);
        Value();
    }

    /// <summary>A value ended: the next one in an array has the next index.</summary>
    public void Value()
    {
        if (_frames.Count > 0 && !_frames[^1].IsObject)
        {
            _frames[^1].Index++;
        }
    }

    /// <summary>Records a key of the innermost object; false when the object already has it.</summary>
    public bool AddKey(string key)
    {
        var frame = _frames[^1];
        frame.Keys ??= new HashSet<string>(StringComparer.Ordinal);
        if (!frame.Keys.Add(key))
        {
            return false;
        }
        frame.Key = key;
        return true;
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
            var frame = _frames[i];
            path.Append(frame.IsObject ? Member(frame.Key ?? "") : $"[{frame.Index}]");
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
