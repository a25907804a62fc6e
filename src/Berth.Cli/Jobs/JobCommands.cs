using System.CommandLine;
using System.Text.Json;
using Berth.Cli.Contexts;
using Berth.Cli.Http;
using Spectre.Console;

namespace Berth.Cli.Jobs;

/// <summary>
/// The client commands: <c>submit</c>, <c>jobs</c>, <c>get</c>, <c>logs</c>, <c>cancel</c>, <c>report</c>. Exit codes:
/// 0 done (for <c>submit --wait</c>: the job succeeded), 1 the job failed or was canceled (<c>submit --wait</c>), 2 a usage
/// or connection error or a refused request, 130 interrupted by Ctrl-C (<c>submit --wait</c> detaches: the job goes on).
/// </summary>
public static class JobCommands
{
    public const string DefaultServer = "http://127.0.0.1:8080";

    public static IEnumerable<Command> Create(CliHost host, TextWriter stdout, TextWriter stderr)
    {
        var server = new Option<string?>("--server") { Description = $"Berth's URL (default: $BERTH_SERVER or {DefaultServer})" };
        var token = new Option<string?>("--token") { Description = "API key sent as a Bearer token (default: $BERTH_TOKEN)" };
        Option<string> Output()
        {
            var option = new Option<string>("--output", "-o") { Description = "table or json", DefaultValueFactory = _ => "table" };
            option.AcceptOnlyFromAmong("table", "json");
            return option;
        }
        var id = new Argument<string>("id") { Description = "The job's id" };

        var path = new Argument<string>("path") { Description = "A Dockerfile, or a directory holding one (the directory is then the build context)" };
        var context = new Option<string?>("--context") { Description = "The build context: a directory (honouring .dockerignore), or a .tar or .tar.gz archive" };
        var name = new Option<string?>("--name") { Description = "The job's name (the leaderboard groups by it)" };
        var memory = new Option<int?>("--limits-memory-mb") { Description = "Memory limit of the run, in MiB" };
        var timeout = new Option<int?>("--timeout") { Description = "Seconds the run may take" };
        var wait = new Option<bool>("--wait") { Description = "Follow the job until it ends (progress on stderr); exit 0 if it succeeded, 1 if not" };
        var logs = new Option<bool>("--logs") { Description = "With --wait (implied): the build and run log on stderr as it is written" };
        var submitOutput = Output();
        var submit = new Command("submit", "Submit a Dockerfile (and its context) as a job") { path, context, name, memory, timeout, wait, logs, submitOutput, server, token };
        submit.SetAction((result, cancellationToken) => RunAsync(host, stdout, stderr, result.GetValue(server), result.GetValue(token), async (client, ct) =>
        {
            var limits = new SubmitLimits(result.GetValue(timeout), result.GetValue(memory));
            JobView submitted;
            try
            {
                submitted = await SubmitAsync(client, result.GetValue(path)!, result.GetValue(context), result.GetValue(name), limits, ct);
            }
            catch (OperationCanceledException) when (host.Interrupt.IsCancellationRequested)
            {
                await stderr.WriteLineAsync();
                await stderr.WriteLineAsync("interrupted before Berth answered: the job may or may not have been submitted; ./berth jobs lists the newest.");
                return BerthCommands.Interrupted;
            }
            var printer = new JobPrinter(stdout, host.StdoutIsTerminal, result.GetValue(submitOutput) == "json");
            if (!result.GetValue(wait) && !result.GetValue(logs))
            {
                await printer.WriteJobAsync(submitted);
                await stderr.WriteLineAsync($"submitted job {submitted.Id}; follow it with ./berth get {submitted.Id} or ./berth logs {submitted.Id} --follow");
                return BerthCommands.Pass;
            }
            JobView final;
            try
            {
                final = await WaitAsync(client, host, submitted, result.GetValue(logs), stderr, ct);
            }
            catch (OperationCanceledException) when (host.Interrupt.IsCancellationRequested)
            {
                await stderr.WriteLineAsync();
                await stderr.WriteLineAsync($"detached from job {submitted.Id}: it goes on running on the server (Ctrl-C does not cancel it).");
                await stderr.WriteLineAsync($"  follow it:  ./berth get {submitted.Id}   or   ./berth logs {submitted.Id} --follow");
                await stderr.WriteLineAsync($"  cancel it:  ./berth cancel {submitted.Id}");
                return BerthCommands.Interrupted;
            }
            await printer.WriteJobAsync(final);
            return final.Status == "succeeded" ? BerthCommands.Pass : BerthCommands.JobFailed;
        }, cancellationToken));

        var status = new Option<string?>("--status") { Description = "Only jobs in this status: queued, linting, building, scanning, running, succeeded, failed or canceled" };
        var limit = new Option<int?>("--limit") { Description = "How many jobs (1 to 100; the server's default is 20)" };
        var after = new Option<string?>("--after") { Description = "The next page: the last id of the previous one" };
        var listOutput = Output();
        var jobs = new Command("jobs", "List jobs, newest first") { status, limit, after, listOutput, server, token };
        jobs.SetAction((result, cancellationToken) => RunAsync(host, stdout, stderr, result.GetValue(server), result.GetValue(token), async (client, ct) =>
        {
            var page = await client.ListAsync(result.GetValue(status), result.GetValue(limit), result.GetValue(after), ct);
            await new JobPrinter(stdout, host.StdoutIsTerminal, result.GetValue(listOutput) == "json").WriteListAsync(page);
            if (page.Next is { } next && result.GetValue(listOutput) != "json")
            {
                await stderr.WriteLineAsync($"more: ./berth jobs --after {next}");
            }
            return BerthCommands.Pass;
        }, cancellationToken));

        var getOutput = Output();
        var get = new Command("get", "Show one job: status, failure, stages, performance") { id, getOutput, server, token };
        get.SetAction((result, cancellationToken) => RunAsync(host, stdout, stderr, result.GetValue(server), result.GetValue(token), async (client, ct) =>
        {
            await new JobPrinter(stdout, host.StdoutIsTerminal, result.GetValue(getOutput) == "json").WriteJobAsync(await client.GetAsync(result.GetValue(id)!, ct));
            return BerthCommands.Pass;
        }, cancellationToken));

        var follow = new Option<bool>("--follow", "-f") { Description = "Go on printing the log as it is written, until the job ends" };
        var logsCommand = new Command("logs", "Print a job's build log then run log") { id, follow, server, token };
        logsCommand.SetAction((result, cancellationToken) => RunAsync(host, stdout, stderr, result.GetValue(server), result.GetValue(token), async (client, ct) =>
        {
            await client.CopyLogsAsync(result.GetValue(id)!, result.GetValue(follow), stdout, wholeLines: false, ct);
            return BerthCommands.Pass;
        }, cancellationToken));

        var cancelOutput = Output();
        var cancel = new Command("cancel", "Cancel a queued or running job") { id, cancelOutput, server, token };
        cancel.SetAction((result, cancellationToken) => RunAsync(host, stdout, stderr, result.GetValue(server), result.GetValue(token), async (client, ct) =>
        {
            var job = await client.CancelAsync(result.GetValue(id)!, ct);
            await new JobPrinter(stdout, host.StdoutIsTerminal, result.GetValue(cancelOutput) == "json").WriteJobAsync(job);
            if (!job.IsTerminal)
            {
                await stderr.WriteLineAsync($"cancel requested: job {job.Id} stops shortly (./berth get {job.Id})");
            }
            return BerthCommands.Pass;
        }, cancellationToken));

        var format = new Option<string>("--format") { Description = "table, json, sarif or cyclonedx", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "sarif", "cyclonedx");
        var report = new Command("report", "A job's lint and scan findings (json, SARIF or CycloneDX)") { id, format, server, token };
        report.SetAction((result, cancellationToken) => RunAsync(host, stdout, stderr, result.GetValue(server), result.GetValue(token), async (client, ct) =>
        {
            var chosen = result.GetValue(format)!;
            var text = await client.ReportAsync(result.GetValue(id)!, chosen == "table" ? "json" : chosen, ct);
            if (chosen != "table")
            {
                await stdout.WriteLineAsync(text);
                return BerthCommands.Pass;
            }
            using var document = JsonDocument.Parse(text);
            await new JobPrinter(stdout, host.StdoutIsTerminal, json: false).WriteReportAsync(document.RootElement);
            return BerthCommands.Pass;
        }, cancellationToken));

        return [submit, jobs, get, logsCommand, cancel, report];
    }

    /// <summary>Resolves the server and token, runs <paramref name="body"/>, and turns errors into exit code 2 with a message.</summary>
    private static async Task<int> RunAsync(CliHost host, TextWriter stdout, TextWriter stderr, string? server, string? token,
        Func<BerthClient, CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        var url = server ?? (host.Environment("BERTH_SERVER") is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultServer);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            await stderr.WriteLineAsync($"error: the server URL '{url}' is not an http:// or https:// URL (--server or BERTH_SERVER)");
            return BerthCommands.Error;
        }
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, host.Interrupt);
        using var client = new BerthClient(uri, token ?? host.Environment("BERTH_TOKEN"));
        try
        {
            return await body(client, interrupt.Token);
        }
        catch (BerthApiException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return BerthCommands.Error;
        }
        catch (Exception e) when (e is ContextRefusedException or IOException or UnauthorizedAccessException or JsonException)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return BerthCommands.Error;
        }
        catch (OperationCanceledException) when (host.Interrupt.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("interrupted");
            return BerthCommands.Interrupted;
        }
        finally
        {
            await stdout.FlushAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Sends the submission: JSON when there is no context; multipart with the context packed (a directory, honouring
    /// .dockerignore) or as given (a .tar or .tar.gz). A directory argument is the context and holds the Dockerfile.
    /// </summary>
    private static async Task<JobView> SubmitAsync(BerthClient client, string path, string? contextPath, string? name, SubmitLimits limits, CancellationToken cancellationToken)
    {
        string dockerfilePath;
        if (Directory.Exists(path))
        {
            dockerfilePath = Path.Combine(path, "Dockerfile");
            contextPath ??= path;
            if (!File.Exists(dockerfilePath))
            {
                throw new ContextRefusedException($"the directory '{path}' holds no Dockerfile; give the Dockerfile's path (and the directory with --context)");
            }
        }
        else if (File.Exists(path))
        {
            dockerfilePath = path;
        }
        else
        {
            throw new ContextRefusedException($"'{path}' is neither a Dockerfile nor a directory");
        }
        var dockerfile = await File.ReadAllTextAsync(dockerfilePath, cancellationToken);
        if (contextPath is null)
        {
            return await client.SubmitAsync(dockerfile, name, limits, cancellationToken);
        }
        if (Directory.Exists(contextPath))
        {
            await using var packed = new FileStream(Path.Combine(Path.GetTempPath(), $"berth-context-{Guid.NewGuid():N}.tar.gz"), FileMode.CreateNew, FileAccess.ReadWrite,
                FileShare.None, 64 * 1024, FileOptions.DeleteOnClose);
            ContextPacker.Pack(contextPath, ContextPacker.IgnoreFor(contextPath, dockerfilePath), packed);
            packed.Position = 0;
            return await client.SubmitAsync(dockerfile, packed, "context.tar.gz", name, limits, cancellationToken);
        }
        if (!File.Exists(contextPath))
        {
            throw new ContextRefusedException($"the context '{contextPath}' is neither a directory nor a .tar or .tar.gz archive");
        }
        await using var archive = File.OpenRead(contextPath);
        return await client.SubmitAsync(dockerfile, archive, Path.GetFileName(contextPath), name, limits, cancellationToken);
    }

    /// <summary>Follows the job with live progress on stderr: a Spectre.Console status when stderr is a terminal (and no log shares it), plain lines otherwise.</summary>
    private static async Task<JobView> WaitAsync(BerthClient client, CliHost host, JobView submitted, bool logs, TextWriter stderr, CancellationToken cancellationToken)
    {
        var watcher = new JobWatcher(client, host);
        var progress = new ProgressPrinter();
        if (host.StderrIsTerminal && !logs)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stderr) });
            return await console.Status().StartAsync(ProgressPrinter.StatusLine(submitted), async context =>
                await watcher.WaitAsync(submitted, job =>
                {
                    foreach (var line in progress.Update(job))
                    {
                        console.MarkupLine(Decorate(line, job));
                    }
                    context.Status(Markup.Escape(ProgressPrinter.StatusLine(job)));
                }, null, cancellationToken));
        }
        var shared = TextWriter.Synchronized(stderr);
        return await watcher.WaitAsync(submitted, job =>
        {
            foreach (var line in progress.Update(job))
            {
                shared.WriteLine("berth: " + line);
            }
            shared.Flush();
        }, logs ? shared : null, cancellationToken);
    }

    private static string Decorate(string line, JobView job)
    {
        var text = Markup.Escape(line);
        return line.StartsWith($"job {job.Id} ", StringComparison.Ordinal) && job.IsTerminal
            ? (job.Status == "succeeded" ? $"[green]✔[/] {text}" : $"[red]✘[/] {text}")
            : line.EndsWith(" running", StringComparison.Ordinal) ? $"[grey]…[/] {text}"
            : line.Contains(" failed", StringComparison.Ordinal) ? $"[red]✘[/] {text}"
            : line.EndsWith(" skipped", StringComparison.Ordinal) || line.Contains(" canceled", StringComparison.Ordinal) || line.Contains(" queued", StringComparison.Ordinal)
                ? $"[grey]-[/] [grey]{text}[/]"
            : $"[green]✔[/] {text}";
    }
}
