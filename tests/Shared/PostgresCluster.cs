using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace Berth.Tests.Shared;

/// <summary>
/// A throwaway PostgreSQL cluster of the test run's own: <c>initdb</c> (as the <c>postgres</c> user, which initdb requires)
/// into a temporary directory, listening on a Unix socket in that directory and on a free loopback port, never the
/// machine's own cluster. <see cref="DisposeAsync"/> stops it and removes the directory; a cluster left by a test process
/// that died is removed by the next one (found by the owner pid file it keeps, and only in its own directories).
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string DirectoryPrefix = "berth-pg-";
    private const string OwnerFile = "owner.pid";
    private const string SuperUser = "berth";

    private PostgresCluster(string root, string bin, int port)
    {
        Root = root;
        Bin = bin;
        Port = port;
    }

    /// <summary>The cluster's directory (socket, data, log).</summary>
    public string Root { get; }

    public int Port { get; }

    private string Bin { get; }

    private string DataDirectory => Path.Combine(Root, "data");

    public string LogFile => Path.Combine(Root, "postgres.log");

    /// <summary>Connects over the Unix socket as the superuser, to <paramref name="database"/>.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = Root,
        Port = Port,
        Username = SuperUser,
        Database = database,
        Pooling = true,
    }.ToString();

    public static async Task<PostgresCluster> StartAsync()
    {
        await RemoveLeftoversAsync();
        var bin = FindBin();
        var root = Directory.CreateTempSubdirectory(DirectoryPrefix).FullName;
        await File.WriteAllTextAsync(Path.Combine(root, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        await RunAsync("chown", "postgres:postgres", root);
        var cluster = new PostgresCluster(root, bin, FreePort());
        try
        {
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            var passwordFile = Path.Combine(root, "pw");
            await File.WriteAllTextAsync(passwordFile, password);
            await RunAsync("chown", "postgres:postgres", passwordFile);
            await RunAsPostgresAsync(Path.Combine(bin, "initdb"), "-D", cluster.DataDirectory, "-U", SuperUser, "-E", "UTF8", "--no-sync",
                "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile", passwordFile);
            File.Delete(passwordFile);
            await cluster.StartServerAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new, empty database; each test that needs a clean store takes one.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary><c>pg_ctl restart -m immediate</c>: every connection drops, as in a crash.</summary>
    public async Task RestartImmediateAsync()
    {
        await StopAsync();
        await StartServerAsync();
    }

    public async Task StopAsync()
    {
        await RunAsPostgresAsync(Path.Combine(Bin, "pg_ctl"), "-D", DataDirectory, "-m", "immediate", "-w", "stop");
        NpgsqlConnection.ClearAllPools(); // CreateDatabaseAsync's pooled connections died with the server
    }

    public Task StartServerAsync() =>
        RunAsPostgresAsync(Path.Combine(Bin, "pg_ctl"), "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o",
            $"-k {Root} -p {Port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            "start");

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await StopQuietlyAsync(Bin, DataDirectory);
        TryDelete(Root);
    }

    private static async Task RemoveLeftoversAsync()
    {
        foreach (var dir in new DirectoryInfo(Path.GetTempPath()).EnumerateDirectories(DirectoryPrefix + "*"))
        {
            var ownerFile = Path.Combine(dir.FullName, OwnerFile);
            if (!File.Exists(ownerFile) || !int.TryParse(await File.ReadAllTextAsync(ownerFile), out var pid) || IsAlive(pid))
            {
                continue; // not ours to judge, or still in use
            }
            await StopQuietlyAsync(FindBin(), Path.Combine(dir.FullName, "data"));
            TryDelete(dir.FullName);
        }
    }

    private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");

    private static async Task StopQuietlyAsync(string bin, string data)
    {
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            try
            {
                await RunAsPostgresAsync(Path.Combine(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop");
            }
            catch (InvalidOperationException)
            {
                // already stopped
            }
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The newest installed server's binaries (Debian keeps them under /usr/lib/postgresql/VERSION/bin).</summary>
    private static string FindBin() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault() ?? throw new InvalidOperationException("PostgreSQL is not installed (./test.sh installs Debian's postgresql)")
            : throw new InvalidOperationException("PostgreSQL is not installed (./test.sh installs Debian's postgresql)");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task RunAsPostgresAsync(string program, params string[] args) =>
        RunAsync("runuser", ["-u", "postgres", "--", program, .. args]);

    private static async Task RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await error}{await output}");
        }
    }
}
