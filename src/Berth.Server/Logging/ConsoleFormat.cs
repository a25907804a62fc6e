using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Berth.Server.Logging;

/// <summary>
/// <c>Logging:Format</c>: how the console log looks. <c>auto</c> (the default) is one human-readable line per message
/// when stdout is a terminal and one JSON object per line otherwise (a file, a pipe, a container's log); <c>json</c>
/// and <c>text</c> choose one always. The server and <c>berth agent</c> both use it.
/// </summary>
public static class ConsoleFormat
{
    public const string Key = "Logging:Format";

    public const string Auto = "auto";
    public const string Json = "json";
    public const string Text = "text";

    /// <summary>
    /// The console formatter for <paramref name="setting"/> (null or empty means <c>auto</c>; case does not matter):
    /// <see cref="ConsoleFormatterNames.Json"/> or <see cref="ConsoleFormatterNames.Simple"/>. Throws
    /// <see cref="OptionsValidationException"/> naming the setting for any other value.
    /// </summary>
    public static string FormatterName(string? setting, bool stdoutIsTerminal) => (string.IsNullOrWhiteSpace(setting) ? Auto : setting.Trim().ToLowerInvariant()) switch
    {
        Auto => stdoutIsTerminal ? ConsoleFormatterNames.Simple : ConsoleFormatterNames.Json,
        Json => ConsoleFormatterNames.Json,
        Text => ConsoleFormatterNames.Simple,
        _ => throw new OptionsValidationException(Key, typeof(ConsoleLoggerOptions),
            [$"{Key} is '{Berth.Scanner.Ellipsis.Truncate(setting!, 64)}'; use {Auto} (text in a terminal, JSON otherwise), {Json} or {Text}"]),
    };

    /// <summary>
    /// The console logger in the format <see cref="Key"/> chooses for this process's stdout. The text format is one line
    /// per message with a UTC time and no scopes (the job id is in the message); JSON keeps
    /// <c>Logging:Console:FormatterOptions</c> (scopes with the job and correlation ids, UTC timestamps).
    /// </summary>
    public static ILoggingBuilder AddBerthConsole(this ILoggingBuilder logging, IConfiguration configuration, bool? stdoutIsTerminal = null)
    {
        var formatter = FormatterName(configuration[Key], stdoutIsTerminal ?? !Console.IsOutputRedirected);
        logging.AddConsole(o => o.FormatterName = formatter);
        logging.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            o.IncludeScopes = false;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        return logging;
    }
}
