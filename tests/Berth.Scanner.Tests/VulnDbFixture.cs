using Berth.Scanner.Advisories;

namespace Berth.Scanner.Tests;

/// <summary>The real advisory snapshot in testdata/vulndb (PyPI, Debian, Alpine, Go: the bundled snapshot), loaded once.</summary>
public sealed class VulnDbFixture
{
    public AdvisoryDatabase Database { get; } = AdvisoryDatabase.Load(TestData.Path("vulndb"));
}

[CollectionDefinition(Name)]
public sealed class VulnDbCollection : ICollectionFixture<VulnDbFixture>
{
    public const string Name = "vulndb";
}
