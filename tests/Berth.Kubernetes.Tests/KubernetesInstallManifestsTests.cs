using k8s.Models;

namespace Berth.Kubernetes.Tests;

public sealed class KubernetesInstallManifestsTests
{
    private static readonly KubernetesSettings Settings = new()
    {
        AgentNamespace = "agents",
        BuildNamespace = "builds",
        RunNamespace = "runs",
        RegistryPort = 5443,
        NodeCidr = "192.0.2.0/24",
    };

    private static readonly KubernetesInstallManifests Install = new(Settings);

    [Fact]
    public void Role_GrantsOnlyWhatTheAgentUses()
    {
        var role = KubernetesInstallManifests.Role("runs");

        Assert.Equal(("rbac.authorization.k8s.io/v1", "Role"), (role.ApiVersion, role.Kind));
        Assert.Equal(("berth-agent", "runs"), (role.Metadata.Name, role.Metadata.NamespaceProperty));
        var rules = role.Rules.Select(r => (Group: Assert.Single(r.ApiGroups), Resource: Assert.Single(r.Resources), Verbs: string.Join(",", r.Verbs))).ToList();
        Assert.Equal(
        [
            ("batch", "jobs", "create,get,list,watch,patch,delete"),
            ("", "pods", "get,list,watch"),
            ("", "pods/log", "get"),
            ("networking.k8s.io", "networkpolicies", "create,get,delete"),
        ], rules);
        Assert.All(role.Rules, r => Assert.Null(r.ResourceNames));
        Assert.All(role.Rules, r => Assert.Null(r.NonResourceURLs));
    }

    [Fact]
    public void RoleBinding_BindsTheAgentsServiceAccountFromTheAgentNamespace()
    {
        var binding = Install.RoleBinding("builds");
        var account = Install.ServiceAccount();

        Assert.Equal(("berth-agent", "builds"), (binding.Metadata.Name, binding.Metadata.NamespaceProperty));
        Assert.Equal(("rbac.authorization.k8s.io", "Role", "berth-agent"), (binding.RoleRef.ApiGroup, binding.RoleRef.Kind, binding.RoleRef.Name));
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", account.Metadata.Name, "agents"), (subject.Kind, subject.Name, subject.NamespaceProperty));
        Assert.Equal(("v1", "ServiceAccount", "agents"), (account.ApiVersion, account.Kind, account.Metadata.NamespaceProperty));
    }

    [Fact]
    public void All_EveryJobNamespaceHasARoleBindingAndNothingIsClusterWide()
    {
        var all = Install.All();

        Assert.Equal(["builds", "runs"], all.OfType<V1Role>().Select(r => r.Metadata.NamespaceProperty));
        Assert.Equal(["builds", "runs"], all.OfType<V1RoleBinding>().Select(r => r.Metadata.NamespaceProperty));
        Assert.DoesNotContain(all, o => o.Kind is "ClusterRole" or "ClusterRoleBinding");
        Assert.All(all.Where(o => o.Kind != "Namespace"), o => Assert.False(string.IsNullOrEmpty(o.Metadata.NamespaceProperty)));
        Assert.Equal(["Namespace", "Namespace"], all.Take(2).Select(o => o.Kind));
    }

    [Fact]
    public void Namespaces_RunPodsMustPassRestricted_BuildPodsAreUnchecked()
    {
        var run = Install.RunNamespace();
        var build = Install.BuildNamespace();

        Assert.Equal("runs", run.Metadata.Name);
        Assert.Equal("restricted", run.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
        Assert.Equal("latest", run.Metadata.Labels["pod-security.kubernetes.io/enforce-version"]);
        Assert.Equal("builds", build.Metadata.Name);
        Assert.Equal("privileged", build.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
    }

    [Fact]
    public void DefaultDeny_SelectsEveryPodOfTheNamespaceBothWays()
    {
        var policy = KubernetesInstallManifests.DefaultDeny("runs");

        Assert.Equal(("berth-default-deny", "runs"), (policy.Metadata.Name, policy.Metadata.NamespaceProperty));
        Assert.Null(policy.Spec.PodSelector.MatchLabels);
        Assert.Null(policy.Spec.PodSelector.MatchExpressions);
        Assert.Equal(["Ingress", "Egress"], policy.Spec.PolicyTypes);
        Assert.Null(policy.Spec.Ingress);
        Assert.Null(policy.Spec.Egress);
    }

    [Fact]
    public void RegistryPolicy_AdmitsTheAgentsAndTheNodesOnTheRegistryPortOnly()
    {
        var policy = Install.RegistryPolicy();

        Assert.Equal(("berth-registry", "agents"), (policy.Metadata.Name, policy.Metadata.NamespaceProperty));
        Assert.Equal(new Dictionary<string, string> { ["app.kubernetes.io/name"] = "berth-registry" }, policy.Spec.PodSelector.MatchLabels);
        Assert.Equal(["Ingress", "Egress"], policy.Spec.PolicyTypes);
        Assert.Null(policy.Spec.Egress);
        var rule = Assert.Single(policy.Spec.Ingress);
        Assert.Equal(2, rule.FromProperty.Count);
        Assert.Equal(new Dictionary<string, string> { ["app.kubernetes.io/name"] = "berth-agent" }, rule.FromProperty[0].PodSelector.MatchLabels);
        Assert.Null(rule.FromProperty[0].NamespaceSelector);
        Assert.Equal("192.0.2.0/24", rule.FromProperty[1].IpBlock.Cidr);
        Assert.Null(rule.FromProperty[1].IpBlock.Except);
        var port = Assert.Single(rule.Ports);
        Assert.Equal(("TCP", "5443"), (port.Protocol, port.Port.Value));
    }
}
