namespace Berth.Kubernetes.Tests;

public sealed class KubernetesNamesTests
{
    [Theory]
    [InlineData("0197a3c0e4b87d2f9c1e5a6b7d8e9f01")]
    [InlineData("a")]
    [InlineData("012345678901234567890123456789012345678901234567890")]
    public void CheckJobId_IdThatFitsAName_IsKept(string id) => Assert.Equal(id, KubernetesNames.CheckJobId(id));

    [Theory]
    [InlineData("")]
    [InlineData("0123456789012345678901234567890123456789012345678901")]
    [InlineData("ABC")]
    [InlineData("a-b")]
    [InlineData("../x")]
    [InlineData("a.b")]
    public void CheckJobId_IdThatCannotBeAName_IsRefused(string id) => Assert.Throws<ArgumentException>(() => KubernetesNames.CheckJobId(id));

    [Fact]
    public void BuildJobName_LongestId_FitsInSixtyThreeCharacters()
    {
        var name = KubernetesNames.BuildJobName(new string('f', 51));

        Assert.Equal(63, name.Length);
        Assert.Equal("berth-" + new string('f', 51) + "-build", name);
    }

    [Theory]
    [InlineData("berth-agent-0")]
    [InlineData("a")]
    [InlineData("0")]
    public void CheckAgent_PodName_IsKept(string agent) => Assert.Equal(agent, KubernetesNames.CheckAgent(agent));

    [Theory]
    [InlineData("")]
    [InlineData("-agent")]
    [InlineData("agent-")]
    [InlineData("Agent")]
    [InlineData("agent_1")]
    [InlineData("agent.1")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void CheckAgent_NameThatIsNoPodName_IsRefused(string agent) => Assert.Throws<ArgumentException>(() => KubernetesNames.CheckAgent(agent));

    [Fact]
    public void AgentSelector_AnAgent_SelectsItsLabel() =>
        Assert.Equal("berth.agent=berth-agent-0", KubernetesNames.AgentSelector("berth-agent-0"));

    [Fact]
    public void Image_ADigest_IsTheJobsOwnRepositoryAtThatDigest()
    {
        var settings = new KubernetesSettings { NodeCidr = "10.0.0.0/8" };
        var digest = "sha256:" + new string('0', 64);

        Assert.Equal("registry.berth.svc:5000/jobs/abc@" + digest, KubernetesNames.Image(settings, "abc", digest));
    }
}
