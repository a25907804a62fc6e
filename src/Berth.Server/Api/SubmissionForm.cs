using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Server.Contexts;
using Berth.Server.Errors;
using Berth.Server.Submissions;
using Microsoft.AspNetCore.Http.Features;
using Berth.Scanner;

namespace Berth.Server.Api;

/// <summary>
/// The multipart form of a submission: parts <c>dockerfile</c> (a file or a field), <c>context</c> (a file),
/// <c>name</c>, <c>timeoutSeconds</c>, <c>memoryMb</c>, <c>cpus</c>, <c>dataMb</c>, <c>cache</c> and <c>callbackUrl</c>. Each may appear once: a
/// repeated part (in any letter case) is a 400 naming it, never joined or dropped. Any other part name is a 400.
/// Limits follow JSON's number grammar, read with the invariant culture (<c>1,5</c> and <c>1.5e</c> are 400s,
/// never 15); an empty value counts as absent.
/// </summary>
internal static partial class SubmissionForm
{
    private static readonly string[] Fields = ["dockerfile", "context", "name", "timeoutSeconds", "memoryMb", "cpus", "dataMb", "cache", "callbackUrl"];
    private static readonly string[] LimitFields = ["timeoutSeconds", "memoryMb", "cpus", "dataMb"];

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)\z", RegexOptions.CultureInvariant)]
    private static partial Regex WholeNumberGrammar();

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex NumberGrammar();

    public static async Task<JobSubmission> ReadAsync(HttpRequest request, long maxContext, CancellationToken cancellationToken)
    {
        var form = await request.ReadFormAsync(new FormOptions
        {
            MultipartBodyLengthLimit = maxContext + 2 * 1024 * 1024,
            ValueLengthLimit = BuildContextPacker.MaxDockerfileBytes + 1,
        }, cancellationToken);
        CheckParts(form);

        string? dockerfile = null;
        if (form.Files.GetFile("dockerfile") is { } file)
        {
            if (file.Length > BuildContextPacker.MaxDockerfileBytes)
            {
                throw new RequestRejectedException(Rejection.Unprocessable, "the Dockerfile exceeds 1 MiB", "dockerfile");
            }
            await using var stream = file.OpenReadStream();
            dockerfile = SubmissionReader.Decode(await SubmissionReader.ReadCappedAsync(stream, BuildContextPacker.MaxDockerfileBytes, cancellationToken) ?? []);
        }
        else if (form.TryGetValue("dockerfile", out var field))
        {
            dockerfile = field.ToString();
        }

        Stream? context = null;
        if (form.Files.GetFile("context") is { } archive)
        {
            if (archive.Length > maxContext)
            {
                throw new RequestRejectedException(Rejection.TooLarge, $"the context archive is {archive.Length} bytes; the limit is {Units.ToMebibytes(maxContext)} MiB (Limits:MaxContextMb)", "context");
            }
            context = archive.OpenReadStream();
        }
        else if (form.ContainsKey("context"))
        {
            throw new RequestRejectedException(Rejection.BadRequest, "the 'context' part must be a file (a .tar or .tar.gz archive)", "context");
        }

        var name = form.TryGetValue("name", out var n) ? n.ToString() : null;
        var limits = new LimitsRequest(
            WholeNumber(form, "timeoutSeconds"),
            WholeNumber(form, "memoryMb"),
            Number(form, "cpus"),
            WholeNumber(form, "dataMb"));
        return new JobSubmission(dockerfile, context, name, limits, Flag(form, "cache") ?? true, Raw(form, "callbackUrl"));
    }

    /// <summary><c>true</c> or <c>false</c>; absent or empty means the default.</summary>
    private static bool? Flag(IFormCollection form, string key) =>
        !form.TryGetValue(key, out var value) || value.ToString().Length == 0 ? null
        : value.ToString() switch
        {
            "true" => true,
            "false" => false,
            _ => throw new RequestRejectedException(Rejection.BadRequest, $"'{key}' must be true or false", key),
        };

    /// <summary>Every part is a documented one, appears once, and only dockerfile and context may be files.</summary>
    private static void CheckParts(IFormCollection form)
    {
        // The form's own lookups ignore letter case, so "name" and "Name" are the same part, counted together.
        var counts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, values) in form)
        {
            counts[key] = counts.GetValueOrDefault(key) + values.Count;
        }
        foreach (var file in form.Files)
        {
            counts[file.Name] = counts.GetValueOrDefault(file.Name) + 1;
            if (file.Name is not ("dockerfile" or "context") && Fields.Contains(file.Name, StringComparer.Ordinal))
            {
                throw new RequestRejectedException(Rejection.BadRequest, $"the '{file.Name}' part must be a plain field, not a file", FieldOf(file.Name));
            }
        }
        foreach (var (key, count) in counts)
        {
            var shown = Ellipsis.Truncate(key, 40);
            if (!Fields.Contains(key, StringComparer.Ordinal))
            {
                throw new RequestRejectedException(Rejection.BadRequest,
                    $"unknown form part '{shown}'; the parts are {string.Join(", ", Fields)} (names are case-sensitive)", shown);
            }
            if (count > 1)
            {
                throw new RequestRejectedException(Rejection.BadRequest, $"the form part '{shown}' appears {count} times; send it once", FieldOf(key));
            }
        }
    }

    private static int? WholeNumber(IFormCollection form, string key) =>
        Raw(form, key) is not { } text ? null
        : WholeNumberGrammar().IsMatch(text) && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value
        : throw new RequestRejectedException(Rejection.BadRequest, $"'{key}' must be a whole number such as 60, got '{Ellipsis.Truncate(text, 40)}'", FieldOf(key));

    private static double? Number(IFormCollection form, string key) =>
        Raw(form, key) is not { } text ? null
        : NumberGrammar().IsMatch(text) && double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value
        : throw new RequestRejectedException(Rejection.BadRequest, $"'{key}' must be a number such as 0.5 (a point, no separators), got '{Ellipsis.Truncate(text, 40)}'", FieldOf(key));

    /// <summary>The field's text; null when it is absent or empty.</summary>
    private static string? Raw(IFormCollection form, string key) =>
        form.TryGetValue(key, out var raw) && raw.ToString() is { Length: > 0 } text ? text : null;

    private static string FieldOf(string key) => LimitFields.Contains(key, StringComparer.Ordinal) ? $"limits.{key}" : key;
}
