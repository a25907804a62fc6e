using System.Globalization;
using System.Text;
using Berth.Server.IntegrationTests.Infrastructure;
using Berth.Server.Jobs;
using Berth.Server.Tests.Api;

namespace Berth.Server.Tests.Streams;

/// <summary>A followed log and a client that stops reading: measured on this whole process, so it runs alone.</summary>
[Collection(AloneCollection.Name)]
public sealed class LogFollowMemoryTests
{
    private const int Blocks = 1024;
    private const int LinesPerBlock = 512;

    private static string Line(int n) => string.Create(CultureInfo.InvariantCulture, $"line {n:D8} {new string('x', 112)}\n"); // 128 bytes

    [Fact]
    public async Task LogsFollow_ReaderStalledWhile64MiBAreWritten_ServerDoesNotBufferTheLogAndEveryLineArrivesInOrder()
    {
        await using var server = new BerthApiFactory();
        using var client = server.CreateClient();
        var driver = new JobDriver(server.Services);
        var id = (await new BerthApi(client).SubmitTextAsync("FROM busybox:latest\nBOGUS\n")).Id;
        await driver.StageAsync(id, 1, JobStatus.Building);
        using var response = await client.OpenAsync($"/api/v1/jobs/{id}/logs?follow=true");
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body, Encoding.UTF8);
        Assert.Equal("==> build log <==", await reader.ReadLineAsync());
        var before = GC.GetTotalMemory(forceFullCollection: true);

        using (var log = driver.Log(id, JobFile.BuildLog))
        {
            for (var block = 0; block < Blocks; block++)
            {
                var text = new StringBuilder();
                for (var i = 0; i < LinesPerBlock; i++)
                {
                    text.Append(Line(block * LinesPerBlock + i));
                }
                log.Write(text.ToString());
            }
        }
        await Task.Delay(1000); // time enough for a server that reads ahead to do so
        var stalled = GC.GetTotalMemory(forceFullCollection: true);
        await driver.FinishAsync(id);

        for (var n = 0; n < Blocks * LinesPerBlock; n++)
        {
            var line = await reader.ReadLineAsync();
            if (line + "\n" != Line(n))
            {
                Assert.Fail($"line {n}: expected '{Line(n).TrimEnd()}', got '{line}'");
            }
        }
        Assert.Equal("", await reader.ReadLineAsync());
        Assert.Equal("==> run log <==", await reader.ReadLineAsync());
        Assert.Null(await reader.ReadLineAsync()); // and the stream ended with the job
        Assert.InRange(stalled - before, long.MinValue, 16L * 1024 * 1024); // the log is 64 MiB
    }
}
