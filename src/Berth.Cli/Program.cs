using Berth.Cli;

// Ctrl-C (SIGINT) cancels the running command instead of killing the process: `submit --wait` then detaches from the
// job and says how to follow or cancel it. A second Ctrl-C ends the process at once.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!interrupt.IsCancellationRequested)
    {
        e.Cancel = true;
        interrupt.Cancel();
    }
};
return await BerthCommands.RunAsync(args, Console.Out, Console.Error, CliHost.ForConsole(interrupt.Token));
