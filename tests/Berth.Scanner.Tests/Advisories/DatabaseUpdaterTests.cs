using System.Net;
using System.Net.Sockets;
using Berth.Scanner.Advisories;

namespace Berth.Scanner.Tests.Advisories;

/// <summary>`db update` against a real HTTP server on 127.0.0.1 that serves the vulndata snapshot (testdata/vulndb).</summary>
public sealed class DatabaseUpdaterTests : IAsyncLifetime, IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _target = Path.Combine(Directory.CreateTempSubdirectory("berth-update-").FullName, "vulndb");
    private readonly List<string> _requests = [];
    private Uri _base = null!;
    private Task _serving = Task.CompletedTask;

    public Task InitializeAsync()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _base = new Uri($"http://127.0.0.1:{port}/osv/");
        _listener.Prefixes.Add(_base.ToString());
        _listener.Start();
        _serving = Task.Run(ServeAsync);
        return Task.CompletedTask;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            var relative = context.Request.Url!.AbsolutePath["/osv/".Length..];
            lock (_requests)
            {
                _requests.Add(relative);
            }
            var file = relative == "Broken/all.zip" ? null : TestData.Path(["vulndb", .. relative.Split('/')]);
            if (relative == "Broken/all.zip")
            {
                await context.Response.OutputStream.WriteAsync("this is not a zip"u8.ToArray());
            }
            else if (File.Exists(file))
            {
                await using var stream = File.OpenRead(file);
                await stream.CopyToAsync(context.Response.OutputStream);
            }
            else
            {
                context.Response.StatusCode = 404;
            }
            context.Response.Close();
        }
    }

    public async Task DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _serving;
        Directory.Delete(Path.GetDirectoryName(_target)!, recursive: true);
    }

    public void Dispose() => ((IDisposable)_listener).Dispose();

    private static DatabaseUpdater Updater(HttpClient http) => new(http, TimeProvider.System);

    [Fact]
    public async Task Update_DownloadsVerifiesAndRecordsTheDate()
    {
        using var http = new HttpClient();
        var result = await Updater(http).UpdateAsync(_target, _base, ["PyPI", "Alpine"], CancellationToken.None);

        Assert.Equal(["Alpine", "PyPI"], result.Records.Keys.Order(StringComparer.Ordinal));
        Assert.True(result.Records["PyPI"] > 2000);
        Assert.Contains("PyPI/all.zip", _requests);
        var db = AdvisoryDatabase.Load(_target);
        Assert.Equal(result.Records.Values.Sum(), db.Records);
        Assert.NotNull(db.UpdatedAt);
        Assert.True(DateTimeOffset.UtcNow - db.UpdatedAt < TimeSpan.FromMinutes(5));
        Assert.NotEmpty(db.For("PyPI", "urllib3"));
    }

    [Theory]
    [InlineData("Missing")]
    [InlineData("Broken")]
    public async Task Update_BadDownload_LeavesTheCurrentDatabaseUntouched(string ecosystem)
    {
        using var http = new HttpClient();
        await Updater(http).UpdateAsync(_target, _base, ["Alpine"], CancellationToken.None);
        var before = AdvisoryDatabase.Load(_target);

        await Assert.ThrowsAsync<InvalidDataException>(() => Updater(http).UpdateAsync(_target, _base, ["PyPI", ecosystem], CancellationToken.None));

        var after = AdvisoryDatabase.Load(_target);
        Assert.Equal(before.Records, after.Records);
        Assert.Equal(before.UpdatedAt, after.UpdatedAt);
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetDirectoryName(_target)!), d => Path.GetFileName(d).StartsWith('.')); // no staging left
    }
}
