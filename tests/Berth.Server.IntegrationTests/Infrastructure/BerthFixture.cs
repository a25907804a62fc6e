namespace Berth.Server.IntegrationTests.Infrastructure;

/// <summary>One shared Berth server for the tests of the "berth" collection.</summary>
public sealed class BerthFixture : IAsyncLifetime
{
    public static readonly IReadOnlyDictionary<string, string> Settings = new Dictionary<string, string>
    {
        ["Berth:Workers"] = "4",
        ["Berth:LogCapKb"] = "64",
        ["Limits:MaxTimeoutSeconds"] = "120",
        ["Limits:DefaultTimeoutSeconds"] = "60",
        ["Limits:MaxMemoryMb"] = "1024",
        ["Limits:DefaultMemoryMb"] = "256",
        ["Limits:MaxContextMb"] = "2",
        ["Limits:KillGraceSeconds"] = "1",
        ["Build:TimeoutSeconds"] = "120",
        // No Scan:Database: the server installs its bundled advisory snapshot, as on a fresh machine.
        ["Auth:SubmitsPerMinute"] = "100000",
        ["Berth:JanitorIntervalSeconds"] = "5",
        ["Build:AllowedImages:0"] = "busybox:latest",
        ["Build:AllowedImages:1"] = "debian:bookworm-slim",
        ["Build:AllowedImages:2"] = "absent/does-not-exist:1.0", // allowed, never on the engine: base_image_missing
    };

    public BerthProcess Server { get; private set; } = null!;

    public Docker Docker { get; } = new();

    public BerthApi Api => new(Server.Client);

    public async Task InitializeAsync() =>
        Server = await BerthProcess.StartAsync(TempRoot.Create("shared"), Settings);

    /// <summary>After the whole suite: every server stopped, nothing may be left behind on the engine or the host.</summary>
    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        // Only what this suite's own servers made counts: another Berth on the machine may keep images of its own.
        var instances = TempRoot.Instances();
        var containers = (await Docker.AllJobContainersAsync())
            .Where(c => c.Labels.TryGetValue("berth.instance", out var instance) && instances.Contains(instance)).ToList();
        var images = (await Docker.AllJobImagesAsync())
            .Where(t => instances.Any(i => t.StartsWith($"berth-{i}/", StringComparison.Ordinal))).ToList();
        var mounts = File.ReadLines("/proc/self/mountinfo").Count(l => l.Contains("/berth-it-", StringComparison.Ordinal));
        Docker.Dispose();
        TempRoot.DeleteAll();
        if (containers.Count + images.Count + mounts > 0)
        {
            throw new InvalidOperationException(
                $"the suite left {containers.Count} job container(s), {images.Count} job image(s) ({string.Join(", ", images)}) and {mounts} /data mount(s) behind");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class BerthCollection : ICollectionFixture<BerthFixture>
{
    public const string Name = "berth";
}

public static class TempRoot
{
    /// <summary>A fresh data root under /tmp for one server.</summary>
    public static string Create(string label) =>
        Directory.CreateTempSubdirectory($"{Prefix}{label}-").FullName;

    private const string Prefix = "berth-it-";

    /// <summary>The engine instance ids of every server this suite started (read from their data roots).</summary>
    public static HashSet<string> Instances() =>
        Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*")
            .Select(root => Path.Combine(root, Berth.Server.Configuration.InstanceIdentity.FileName))
            .Where(File.Exists)
            .Select(IdOrNull).OfType<string>()
            .ToHashSet(StringComparer.Ordinal);

    private static string? IdOrNull(string file)
    {
        try
        {
            return Berth.Server.Configuration.InstanceIdentity.Parse(File.ReadAllText(file), file).Id;
        }
        catch (InvalidDataException)
        {
            return null; // a test wrote a malformed file on purpose; that server never started
        }
    }

    public static void DeleteAll()
    {
        var prefix = Path.Combine(Path.GetTempPath(), Prefix);
        // A server killed on purpose may leave a job's /data mounted: detach it before deleting.
        foreach (var mount in File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(m => m.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var umount = System.Diagnostics.Process.Start("umount", ["-l", mount]);
            umount.WaitForExit();
        }
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
