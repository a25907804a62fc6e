namespace Berth.Server.IntegrationTests.Fleet.Infrastructure;

/// <summary>
/// Tests that start a <see cref="FleetLab"/>. They run alone, after the parallel collections: a lab starts several
/// dockerds and dotnet processes, and its timings (leases, partitions) should not compete with other tests for the cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FleetCollection
{
    public const string Name = "fleet";
}
