namespace Berth.Server.Tests.Api;

/// <summary>Tests that measure this whole process (its peak memory): they run after every other test, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone";
}
