using k8s;
using k8s.Models;
using static Berth.Kubernetes.KubernetesNames;

namespace Berth.Kubernetes;

/// <summary>
/// The objects an operator applies once (docs/kubernetes.md): the two job namespaces with their Pod Security levels
/// and default-deny policies, the registry's policy, and the agents' ServiceAccount with a Role in each job namespace.
/// Nothing here is cluster-wide: the agents need no ClusterRole.
/// </summary>
public sealed class KubernetesInstallManifests(KubernetesSettings settings)
{
    /// <summary>Everything, in the order <c>kubectl apply</c> should see it.</summary>
    public IReadOnlyList<IKubernetesObject<V1ObjectMeta>> All() =>
    [
        BuildNamespace(),
        RunNamespace(),
        DefaultDeny(settings.BuildNamespace),
        DefaultDeny(settings.RunNamespace),
        RegistryPolicy(),
        ServiceAccount(),
        Role(settings.BuildNamespace),
        RoleBinding(settings.BuildNamespace),
        Role(settings.RunNamespace),
        RoleBinding(settings.RunNamespace),
    ];

    /// <summary>Level <c>privileged</c> (no admission check): <c>baseline</c> refuses the unconfined seccomp and AppArmor profiles BuildKit needs.</summary>
    public V1Namespace BuildNamespace() => Namespace(settings.BuildNamespace, "privileged");

    /// <summary>Level <c>restricted</c>, enforced: the API server refuses a run pod that lacks any of its controls.</summary>
    public V1Namespace RunNamespace() => Namespace(settings.RunNamespace, "restricted");

    /// <summary>Every pod of a job namespace sends and receives nothing unless a policy allows it (only the build pods' port is).</summary>
    public static V1NetworkPolicy DefaultDeny(string ns) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "NetworkPolicy",
        Metadata = new V1ObjectMeta { Name = "berth-default-deny", NamespaceProperty = ns, Labels = ManagedLabels() },
        Spec = new V1NetworkPolicySpec { PodSelector = new V1LabelSelector(), PolicyTypes = ["Ingress", "Egress"] },
    };

    /// <summary>The registry takes connections from the agents (push, and nothing else reads it) and from the nodes (the kubelet's pulls); it connects nowhere.</summary>
    public V1NetworkPolicy RegistryPolicy() => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "NetworkPolicy",
        Metadata = new V1ObjectMeta { Name = Registry, NamespaceProperty = settings.AgentNamespace, Labels = ManagedLabels() },
        Spec = new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [AppNameLabel] = Registry } },
            PolicyTypes = ["Ingress", "Egress"],
            Ingress =
            [
                new V1NetworkPolicyIngressRule
                {
                    FromProperty =
                    [
                        new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [AppNameLabel] = Agent } } },
                        new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = settings.NodeCidr } },
                    ],
                    Ports = [new V1NetworkPolicyPort { Protocol = "TCP", Port = settings.RegistryPort }],
                },
            ],
        },
    };

    public V1ServiceAccount ServiceAccount() => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = new V1ObjectMeta { Name = Agent, NamespaceProperty = settings.AgentNamespace, Labels = ManagedLabels() },
    };

    /// <summary>
    /// Jobs: create, read, watch, resume (patch) and delete. Pods: read and watch (the Job controller makes them), and
    /// their logs. Network policies: create, read, delete. No exec, attach, secrets or anything cluster-wide.
    /// </summary>
    public static V1Role Role(string ns) => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "Role",
        Metadata = new V1ObjectMeta { Name = Agent, NamespaceProperty = ns, Labels = ManagedLabels() },
        Rules =
        [
            new V1PolicyRule { ApiGroups = ["batch"], Resources = ["jobs"], Verbs = ["create", "get", "list", "watch", "patch", "delete"] },
            new V1PolicyRule { ApiGroups = [""], Resources = ["pods"], Verbs = ["get", "list", "watch"] },
            new V1PolicyRule { ApiGroups = [""], Resources = ["pods/log"], Verbs = ["get"] },
            new V1PolicyRule { ApiGroups = ["networking.k8s.io"], Resources = ["networkpolicies"], Verbs = ["create", "get", "delete"] },
        ],
    };

    public V1RoleBinding RoleBinding(string ns) => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "RoleBinding",
        Metadata = new V1ObjectMeta { Name = Agent, NamespaceProperty = ns, Labels = ManagedLabels() },
        RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = Agent },
        Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = Agent, NamespaceProperty = settings.AgentNamespace }],
    };

    private static V1Namespace Namespace(string name, string level) => new()
    {
        ApiVersion = "v1",
        Kind = "Namespace",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = new Dictionary<string, string>(ManagedLabels())
            {
                ["pod-security.kubernetes.io/enforce"] = level,
                ["pod-security.kubernetes.io/enforce-version"] = "latest",
            },
        },
    };

    private static Dictionary<string, string> ManagedLabels() => new() { [ManagedByLabel] = ManagedBy };
}
