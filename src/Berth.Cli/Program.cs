using Berth.Cli;

return await BerthCommands.RunAsync(args, Console.Out, Console.Error);
