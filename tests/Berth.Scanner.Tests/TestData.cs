namespace Berth.Scanner.Tests;

/// <summary>Files under testdata/, copied beside the test assembly.</summary>
public static class TestData
{
    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([AppContext.BaseDirectory, "testdata", .. parts]);
}
