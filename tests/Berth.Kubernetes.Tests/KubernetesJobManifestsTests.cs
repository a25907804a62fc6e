using System.Text.Json;
using k8s.Models;

namespace Berth.Kubernetes.Tests;

public sealed class KubernetesJobManifestsTests
{
    // Limits unlike any default, so every value below must come from the job or the settings.
    private static readonly KubernetesSettings Settings = new()
    {
        AgentNamespace = "agents",
        BuildNamespace = "builds",
        RunNamespace = "runs",
        RegistryHost = "registry.agents.svc",
        RegistryPort = 5443,
        NodeCidr = "192.0.2.0/24",
        BuildkitImage = "buildkit@sha256:" + new string('b', 64),
        RuntimeClassName = "sandboxed",
        TmpMb = 48,
        KillGraceSeconds = 7,
        FinishedJobTtlSeconds = 321,
        Build = new BuildLimits(TimeoutSeconds: 777, MemoryMb: 3072, Cpus: 1.5, DiskMb: 5000, MaxImageMb: 2000),
    };

    private static readonly KubernetesJob Job = new("0123456789abcdef0123456789abcdef", 4242, "agent-7", new RunLimits(TimeoutSeconds: 1234, MemoryMb: 768, Cpus: 0.25, DataMb: 100));

    private static readonly string Digest = "sha256:" + new string('d', 64);

    private const string BuildUid = "11111111-2222-4333-8444-555555555555";
    private const string RunUid = "66666666-7777-4888-9999-aaaaaaaaaaaa";

    private static readonly KubernetesJobManifests Manifests = new(Settings);

    [Fact]
    public void RunJob_AJob_AppliesEveryControl()
    {
        var job = Manifests.RunJob(Job, Digest);

        Assert.Equal(("batch/v1", "Job"), (job.ApiVersion, job.Kind));
        Assert.Equal("berth-0123456789abcdef0123456789abcdef-run", job.Metadata.Name);
        Assert.Equal("runs", job.Metadata.NamespaceProperty);
        AssertLabels(job.Metadata.Labels, "run");

        var spec = job.Spec;
        Assert.True(spec.Suspend);
        Assert.Equal(0, spec.BackoffLimit);
        Assert.Equal(1234, spec.ActiveDeadlineSeconds);
        Assert.Equal(321, spec.TtlSecondsAfterFinished);
        AssertFailurePolicy(spec.PodFailurePolicy, "job");
        AssertLabels(spec.Template.Metadata.Labels, "run");

        var pod = spec.Template.Spec;
        Assert.Equal("Never", pod.RestartPolicy);
        Assert.Equal("sandboxed", pod.RuntimeClassName);
        Assert.False(pod.AutomountServiceAccountToken);
        Assert.False(pod.EnableServiceLinks);
        Assert.Equal(7, pod.TerminationGracePeriodSeconds);
        Assert.Null(pod.ServiceAccountName);
        Assert.Null(pod.InitContainers);
        Assert.Null(pod.HostNetwork);
        Assert.Null(pod.HostPID);
        Assert.Null(pod.HostIPC);
        Assert.Null(pod.ShareProcessNamespace);
        Assert.Null(pod.HostUsers);

        var podSecurity = pod.SecurityContext;
        Assert.True(podSecurity.RunAsNonRoot);
        Assert.Equal(65534, podSecurity.RunAsUser);
        Assert.Equal(65534, podSecurity.RunAsGroup);
        Assert.Equal(65534, podSecurity.FsGroup);
        Assert.Equal("RuntimeDefault", podSecurity.SeccompProfile.Type);

        var container = Assert.Single(pod.Containers);
        Assert.Equal("job", container.Name);
        Assert.Equal("registry.agents.svc:5443/jobs/0123456789abcdef0123456789abcdef@" + Digest, container.Image);
        Assert.Equal("IfNotPresent", container.ImagePullPolicy);
        Assert.Null(container.Command);
        Assert.Null(container.Args);
        Assert.Null(container.Env);
        Assert.Null(container.Ports);

        var security = container.SecurityContext;
        Assert.False(security.AllowPrivilegeEscalation);
        Assert.True(security.ReadOnlyRootFilesystem);
        Assert.False(security.Privileged);
        Assert.Equal(["ALL"], security.Capabilities.Drop);
        Assert.Null(security.Capabilities.Add);
        Assert.Null(security.ProcMount);

        AssertResources(container.Resources, cpu: "250m", memory: "768Mi", storage: "164Mi");

        Assert.Equal("/data/perf.json", container.TerminationMessagePath);
        Assert.Equal("File", container.TerminationMessagePolicy);
        Assert.Equal([("data", "/data"), ("tmp", "/tmp")], container.VolumeMounts.Select(m => (m.Name, m.MountPath)));
        Assert.All(container.VolumeMounts, m => Assert.NotEqual(true, m.ReadOnlyProperty));

        Assert.Equal(["data", "tmp"], pod.Volumes.Select(v => v.Name));
        var data = pod.Volumes[0].EmptyDir;
        Assert.Equal("100Mi", data.SizeLimit.ToString());
        Assert.Null(data.Medium);
        var tmp = pod.Volumes[1].EmptyDir;
        Assert.Equal("Memory", tmp.Medium);
        Assert.Equal("48Mi", tmp.SizeLimit.ToString());
        Assert.All(pod.Volumes, v => Assert.Null(v.HostPath));
    }

    [Fact]
    public void RunNetworkPolicy_AJob_DeniesEverythingToTheRunPodAndBelongsToTheRunJob()
    {
        var job = Manifests.RunJob(Job, Digest);
        var policy = Manifests.RunNetworkPolicy(Job, RunUid);

        Assert.Equal(("networking.k8s.io/v1", "NetworkPolicy"), (policy.ApiVersion, policy.Kind));
        Assert.Equal((job.Metadata.Name, "runs"), (policy.Metadata.Name, policy.Metadata.NamespaceProperty));
        AssertLabels(policy.Metadata.Labels, "run");
        AssertOwnedBy(policy, job.Metadata.Name, RunUid);
        Assert.Equal(new Dictionary<string, string> { ["berth.job"] = Job.JobId, ["berth.stage"] = "run" }, policy.Spec.PodSelector.MatchLabels);
        AssertSelects(policy, job);
        Assert.Equal(["Ingress", "Egress"], policy.Spec.PolicyTypes);
        Assert.Null(policy.Spec.Ingress);
        Assert.Null(policy.Spec.Egress);
    }

    [Fact]
    public void BuildJob_AJob_RunsRootlessBuildkitWithItsLimits()
    {
        var job = Manifests.BuildJob(Job);

        Assert.Equal(("batch/v1", "Job"), (job.ApiVersion, job.Kind));
        Assert.Equal(("berth-0123456789abcdef0123456789abcdef-build", "builds"), (job.Metadata.Name, job.Metadata.NamespaceProperty));
        AssertLabels(job.Metadata.Labels, "build");

        var spec = job.Spec;
        Assert.True(spec.Suspend);
        Assert.Equal(0, spec.BackoffLimit);
        Assert.Equal(777, spec.ActiveDeadlineSeconds);
        Assert.Equal(321, spec.TtlSecondsAfterFinished);
        AssertFailurePolicy(spec.PodFailurePolicy, "buildkitd");
        AssertLabels(spec.Template.Metadata.Labels, "build");

        var pod = spec.Template.Spec;
        Assert.Equal("Never", pod.RestartPolicy);
        Assert.False(pod.AutomountServiceAccountToken);
        Assert.False(pod.EnableServiceLinks);
        Assert.Equal(7, pod.TerminationGracePeriodSeconds);
        Assert.Null(pod.RuntimeClassName);
        Assert.Null(pod.HostNetwork);
        Assert.Null(pod.InitContainers);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal((1000L, 1000L, 1000L), (pod.SecurityContext.RunAsUser!.Value, pod.SecurityContext.RunAsGroup!.Value, pod.SecurityContext.FsGroup!.Value));

        var container = Assert.Single(pod.Containers);
        Assert.Equal("buildkitd", container.Name);
        Assert.Equal(Settings.BuildkitImage, container.Image);
        Assert.Null(container.Command);
        Assert.Equal(["--addr", "tcp://0.0.0.0:1234", "--oci-worker-no-process-sandbox"], container.Args);
        var port = Assert.Single(container.Ports);
        Assert.Equal((1234, "TCP"), (port.ContainerPort, port.Protocol));
        Assert.Equal("1234", container.ReadinessProbe.TcpSocket.Port.Value);

        var security = container.SecurityContext;
        Assert.False(security.Privileged);
        Assert.True(security.AllowPrivilegeEscalation);
        Assert.Equal("Unconfined", security.SeccompProfile.Type);
        Assert.Equal("Unconfined", security.AppArmorProfile.Type);
        Assert.Null(security.Capabilities);

        AssertResources(container.Resources, cpu: "1500m", memory: "3Gi", storage: "5064Mi");
        var mount = Assert.Single(container.VolumeMounts);
        Assert.Equal(("buildkit-state", "/home/user/.local/share/buildkit"), (mount.Name, mount.MountPath));
        var volume = Assert.Single(pod.Volumes);
        Assert.Equal(("buildkit-state", "5000Mi"), (volume.Name, volume.EmptyDir.SizeLimit.ToString()));
    }

    [Fact]
    public void BuildNetworkPolicy_AJob_AdmitsOnlyTheOwningAgentOnBuildkitsPortAndNoEgress()
    {
        var job = Manifests.BuildJob(Job);
        var policy = Manifests.BuildNetworkPolicy(Job, BuildUid);

        Assert.Equal((job.Metadata.Name, "builds"), (policy.Metadata.Name, policy.Metadata.NamespaceProperty));
        AssertLabels(policy.Metadata.Labels, "build");
        AssertOwnedBy(policy, job.Metadata.Name, BuildUid);
        Assert.Equal(new Dictionary<string, string> { ["berth.job"] = Job.JobId, ["berth.stage"] = "build" }, policy.Spec.PodSelector.MatchLabels);
        AssertSelects(policy, job);
        Assert.Equal(["Ingress", "Egress"], policy.Spec.PolicyTypes);
        Assert.Null(policy.Spec.Egress);

        var rule = Assert.Single(policy.Spec.Ingress);
        var peer = Assert.Single(rule.FromProperty);
        Assert.Equal(new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "agents" }, peer.NamespaceSelector.MatchLabels);
        Assert.Equal(new Dictionary<string, string> { ["statefulset.kubernetes.io/pod-name"] = "agent-7" }, peer.PodSelector.MatchLabels);
        Assert.Null(peer.IpBlock);
        var port = Assert.Single(rule.Ports);
        Assert.Equal(("TCP", "1234"), (port.Protocol, port.Port.Value));
    }

    [Theory]
    [InlineData(1, "1")]
    [InlineData(0.5, "500m")]
    [InlineData(2.25, "2250m")]
    [InlineData(0.001, "1m")]
    public void RunJob_Cpus_AreMillicores(double cpus, string expected)
    {
        var job = Manifests.RunJob(Job with { Limits = Job.Limits with { Cpus = cpus } }, Digest);

        var resources = job.Spec.Template.Spec.Containers[0].Resources;
        Assert.Equal(expected, resources.Limits["cpu"].ToString());
        Assert.Equal(expected, resources.Requests["cpu"].ToString());
    }

    [Theory]
    [InlineData("sha256:" + "D0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha256:abc")]
    [InlineData("latest")]
    [InlineData("sha512:" + "0000000000000000000000000000000000000000000000000000000000000000")]
    public void RunJob_ImageNotPinnedByDigest_IsRefused(string digest) =>
        Assert.Throws<ArgumentException>(() => Manifests.RunJob(Job, digest));

    [Theory]
    [InlineData("not-a-uid")]
    [InlineData("")]
    public void NetworkPolicies_OwnerThatIsNoUid_IsRefused(string uid)
    {
        Assert.Throws<ArgumentException>(() => Manifests.RunNetworkPolicy(Job, uid));
        Assert.Throws<ArgumentException>(() => Manifests.BuildNetworkPolicy(Job, uid));
        Assert.Throws<ArgumentException>(() => KubernetesJobManifests.Deletion(uid));
    }

    [Fact]
    public void Deletion_AJobUid_DeletesPodsFirstAndOnlyThatJob()
    {
        var options = KubernetesJobManifests.Deletion(RunUid);

        Assert.Equal("Foreground", options.PropagationPolicy);
        Assert.Equal(RunUid, options.Preconditions.Uid);
        Assert.Null(options.GracePeriodSeconds);
    }

    [Fact]
    public void Resume_IsAMergePatchThatOnlyUnsuspends()
    {
        var patch = KubernetesJobManifests.Resume;

        Assert.Equal(V1Patch.PatchType.MergePatch, patch.Type);
        using var document = JsonDocument.Parse((string)patch.Content);
        Assert.Equal("""{"spec":{"suspend":false}}""", JsonSerializer.Serialize(document.RootElement));
    }

    [Fact]
    public void Labels_LeaseToken_IsReadBackForFencing()
    {
        var labels = Manifests.RunJob(Job, Digest).Metadata.Labels;

        Assert.Equal(4242, KubernetesNames.LeaseOf(labels));
        Assert.Null(KubernetesNames.LeaseOf(new Dictionary<string, string> { ["berth.lease"] = "-3" }));
        Assert.Null(KubernetesNames.LeaseOf(new Dictionary<string, string> { ["berth.lease"] = "12a" }));
        Assert.Null(KubernetesNames.LeaseOf(null));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void RunJob_LeaseTokenNotPositive_IsRefused(long lease) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Manifests.RunJob(Job with { LeaseToken = lease }, Digest));

    private static void AssertLabels(IDictionary<string, string> labels, string stage) =>
        Assert.Equal(new Dictionary<string, string>
        {
            ["app.kubernetes.io/managed-by"] = "berth",
            ["berth.job"] = Job.JobId,
            ["berth.stage"] = stage,
            ["berth.agent"] = "agent-7",
            ["berth.lease"] = "4242",
        }, labels);

    private static void AssertFailurePolicy(V1PodFailurePolicy policy, string container)
    {
        Assert.Equal(2, policy.Rules.Count);
        var disruption = policy.Rules[0];
        Assert.Equal("FailJob", disruption.Action);
        Assert.Null(disruption.OnExitCodes);
        var condition = Assert.Single(disruption.OnPodConditions);
        Assert.Equal(("DisruptionTarget", "True"), (condition.Type, condition.Status));
        var exit = policy.Rules[1];
        Assert.Equal("FailJob", exit.Action);
        Assert.Null(exit.OnPodConditions);
        Assert.Equal((container, "NotIn"), (exit.OnExitCodes.ContainerName, exit.OnExitCodes.OperatorProperty));
        Assert.Equal([0], exit.OnExitCodes.Values);
    }

    private static void AssertResources(V1ResourceRequirements resources, string cpu, string memory, string storage)
    {
        var expected = new Dictionary<string, string> { ["cpu"] = cpu, ["memory"] = memory, ["ephemeral-storage"] = storage };
        Assert.Equal(expected, resources.Limits.ToDictionary(q => q.Key, q => q.Value.ToString()));
        Assert.Equal(expected, resources.Requests.ToDictionary(q => q.Key, q => q.Value.ToString()));
    }

    private static void AssertOwnedBy(V1NetworkPolicy policy, string jobName, string uid)
    {
        var owner = Assert.Single(policy.Metadata.OwnerReferences);
        Assert.Equal(("batch/v1", "Job", jobName, uid), (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid));
        Assert.True(owner.Controller);
        Assert.Null(owner.BlockOwnerDeletion);
    }

    /// <summary>Every label the policy selects on is on the pods the Job makes.</summary>
    private static void AssertSelects(V1NetworkPolicy policy, V1Job job) =>
        Assert.All(policy.Spec.PodSelector.MatchLabels, l => Assert.Equal(l.Value, job.Spec.Template.Metadata.Labels[l.Key]));
}
